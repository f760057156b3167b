// The deployment examples run what the project tests: the Dockerfile's steps (its COPYs, its RUN,
// its CMD and HEALTHCHECK, as its USER, with its ENV) are carried out here outside a container
// (these machines have no container engine), and the systemd unit's ExecStart is started with
// the unit's Environment and stopped with its KillSignal.
import { chmodSync, chownSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { execFileSync, spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, killAll, spawnProcess } from './helpers/processes.ts';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const NODE_DIR = dirname(process.execPath);
const SYSTEM_PATH = `${NODE_DIR}:/usr/local/bin:/usr/bin:/bin`;
const NOBODY = 65534;
const asRoot = process.getuid?.() === 0;

afterEach(() => killAll());

/** Dockerfile instructions, continuation lines joined, comments dropped. */
function dockerInstructions(text: string): Array<{ op: string; args: string }> {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'))
    .map((line) => {
      const [op, ...rest] = line.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

/** A folder the unprivileged user can use as its home. */
function homeFor(uid: number | undefined): string {
  const home = mkdtempSync(join(tmpdir(), 'openclaw-home-'));
  if (uid !== undefined) chownSync(home, uid, uid);
  return home;
}

describe('Dockerfile', () => {
  const steps = dockerInstructions(readFileSync(join(ROOT, 'Dockerfile'), 'utf8'));

  it('is non-root, installs production dependencies only, checks /health, and uses only what it copies', () => {
    const ops = steps.map((step) => step.op);
    expect(ops.indexOf('USER')).toBeGreaterThan(ops.lastIndexOf('RUN'));
    expect(steps.find((step) => step.op === 'USER')?.args).not.toMatch(/^(root|0)$/);
    expect(steps.filter((step) => step.op === 'RUN').map((step) => step.args)).toEqual(['npm ci --omit=dev --ignore-scripts --no-audit --no-fund']);
    expect(steps.find((step) => step.op === 'HEALTHCHECK')?.args).toContain('/health');
    expect(JSON.parse(steps.find((step) => step.op === 'CMD')!.args)).toEqual(['node', 'bin/openclaw.js', 'gateway', '--bind', 'lan']);
  });

  it('its steps, carried out: the install gives production packages only, the gateway starts as an unprivileged user, the health check passes, SIGTERM stops it', { timeout: 300_000 }, async () => {
    const workdir = mkdtempSync(join(tmpdir(), 'openclaw-image-'));
    chmodSync(workdir, 0o755);
    const env: Record<string, string> = {};
    let uid: number | undefined;
    let command: string[] = [];
    let healthcheck = '';
    // npm's own cache (where this machine already has the packages) keeps the install quick.
    const npmCache = execFileSync('npm', ['config', 'get', 'cache'], { encoding: 'utf8' }).trim();
    for (const { op, args } of steps) {
      if (op === 'COPY') {
        const parts = args.split(/\s+/);
        const destination = join(workdir, parts.pop()!);
        for (const source of parts) cpSync(join(ROOT, source), source.endsWith('/') ? destination : join(destination, source), { recursive: true });
      } else if (op === 'RUN') {
        const run = spawnSync('bash', ['-c', args], { cwd: workdir, encoding: 'utf8', env: { PATH: SYSTEM_PATH, HOME: homeFor(undefined), npm_config_cache: npmCache, npm_config_prefer_offline: 'true' } });
        expect(run.stderr).not.toMatch(/npm (error|ERR!)/);
        expect(run.status).toBe(0);
      } else if (op === 'ENV') {
        for (const pair of args.split(/\s+/)) env[pair.slice(0, pair.indexOf('='))] = pair.slice(pair.indexOf('=') + 1);
      } else if (op === 'USER') {
        // The image's `node` user: here, an unprivileged one.
        uid = asRoot ? NOBODY : undefined;
      } else if (op === 'CMD') {
        command = JSON.parse(args);
      } else if (op === 'HEALTHCHECK') {
        healthcheck = args.replace(/^(--\S+\s+)*CMD\s+/, '');
      }
    }
    const installed = readdirSync(join(workdir, 'node_modules'));
    expect(installed).toEqual(expect.arrayContaining(['express', 'undici', 'swagger-ui-dist']));
    // The openai SDK is the tests' client only: the upstream hop uses undici.
    for (const devOnly of ['vitest', 'typescript', '@redocly', 'playwright-core', '@hey-api', 'openai']) expect(installed).not.toContain(devOnly);

    const port = await freePort();
    const runEnv = { ...env, PATH: SYSTEM_PATH, HOME: homeFor(uid), OPENCLAW_GATEWAY_PORT: String(port) };
    const [program, ...args] = command;
    const gateway = spawnProcess(program, args, { cwd: workdir, env: runEnv, uid, gid: uid });
    await gateway.waitFor('openclaw gateway listening on');
    expect(gateway.stderr()).toContain('Generated a gateway token');
    const check = () => spawnSync('sh', ['-c', healthcheck], { env: runEnv, uid, gid: uid });
    expect(check().status).toBe(0);
    expect(existsSync(join(runEnv.HOME, '.openclaw', 'gateway-token'))).toBe(true);
    gateway.child.kill('SIGTERM');
    expect(await gateway.exited).toBe(0);
    expect(check().status).toBe(1);
  });
});

describe('deploy/openclaw-gateway.service', () => {
  const unit = readFileSync(join(ROOT, 'deploy/openclaw-gateway.service'), 'utf8');
  const settings = (key: string) => [...unit.matchAll(new RegExp(`^${key}=(.*)$`, 'gm'))].map((match) => match[1]);

  it('starts the gateway with its ExecStart and Environment as an unprivileged user, and drains on its KillSignal', async () => {
    expect(settings('User')).toEqual(['openclaw']);
    expect(settings('KillMode')).toEqual(['mixed']);
    const installDir = settings('WorkingDirectory')[0];
    // The unit's paths, with this checkout standing for the install dir and temp folders for /var/lib and /etc.
    const stateDir = join(homeFor(asRoot ? NOBODY : undefined), 'state');
    const configDir = mkdtempSync(join(tmpdir(), 'openclaw-etc-'));
    chmodSync(configDir, 0o755);
    const env: Record<string, string> = { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: stateDir };
    for (const assignment of settings('Environment')) env[assignment.slice(0, assignment.indexOf('='))] = assignment.slice(assignment.indexOf('=') + 1);
    expect(env.OPENCLAW_STATE_DIR).toBe('/var/lib/openclaw');
    env.OPENCLAW_STATE_DIR = stateDir;
    env.OPENCLAW_CONFIG_PATH = env.OPENCLAW_CONFIG_PATH.replace('/etc/openclaw', configDir);
    // What the install steps leave: a config in /etc/openclaw, the token in its EnvironmentFile.
    writeFileSync(env.OPENCLAW_CONFIG_PATH, '{ gateway: { http: { endpoints: { chatCompletions: { enabled: true } } } } }', { mode: 0o644 });
    env.OPENCLAW_GATEWAY_TOKEN = 'service-token-0123456789abcdef';
    const port = await freePort();
    env.OPENCLAW_GATEWAY_PORT = String(port);
    const [program, ...args] = settings('ExecStart')[0].replace(installDir, ROOT).split(/\s+/);
    // The state dir as StateDirectory= makes it: owned by the service user, 0700.
    mkdirSync(stateDir, { mode: 0o700 });
    if (asRoot) chownSync(stateDir, NOBODY, NOBODY);

    const gateway = spawnProcess(program, args, { cwd: ROOT, env, uid: asRoot ? NOBODY : undefined, gid: asRoot ? NOBODY : undefined });
    await gateway.waitFor('openclaw gateway listening on');
    expect((await fetch(`http://127.0.0.1:${port}/health`)).status).toBe(200);
    const reply = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${env.OPENCLAW_GATEWAY_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ user: 'ops', messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect((await reply.json()).choices[0].message.content).toBe('Echo: hi');
    expect(existsSync(join(stateDir, 'sessions.sqlite'))).toBe(true);
    gateway.child.kill(settings('KillSignal')[0] as NodeJS.Signals);
    expect(await gateway.exited).toBe(0);
    expect(gateway.stdout()).toContain('"gateway.closed"');
  });
});

describe('LICENSE', () => {
  it('is the MIT license package.json names', () => {
    const license = readFileSync(join(ROOT, 'LICENSE'), 'utf8');
    expect(JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).license).toBe('MIT');
    expect(license).toMatch(/^MIT License\n\nCopyright \(c\) \d{4} /);
    expect(license).toContain('Permission is hereby granted, free of charge');
  });
});
