// The CLI starts wherever the set-up scripts do: on the machine's old Node (20 here) it hands
// itself to the Node the set-up installed in the project, as `node bin/openclaw.js`, as an
// `npm link`ed `openclaw`, and as `npm start`.
import { execFileSync, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, killAll, spawnGroup, spawnProcess } from './helpers/processes.ts';

const ROOT = new URL('..', import.meta.url).pathname.replace(/\/$/, '');
const BIN = join(ROOT, 'bin/openclaw.js');
const OLD_NODE = '/usr/bin/node';
const VERSION = (JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;
const SYSTEM_PATH = '/usr/bin:/bin';

function nodeVersion(node: string): string | undefined {
  try {
    return execFileSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).trim();
  } catch {
    return undefined;
  }
}
const oldVersion = nodeVersion(OLD_NODE);
const oldNodeIsOld = oldVersion !== undefined && Number(oldVersion.split('.')[0]) < 22;

afterEach(() => killAll());

function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}

async function chat(port: number, token: string, user?: string): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'openclaw', user, messages: [{ role: 'user', content: 'hi' }] }),
  });
  expect(res.status).toBe(200);
  return (await res.json()).choices[0].message.content;
}

describe.runIf(oldNodeIsOld)(`on the machine's Node ${oldVersion} (older than 22.18)`, () => {
  it('openclaw --version and --help work', () => {
    const version = spawnSync(OLD_NODE, [BIN, '--version'], { encoding: 'utf8', env: { PATH: SYSTEM_PATH } });
    expect(version.stderr).toBe('');
    expect(version.stdout.trim()).toBe(VERSION);
    expect(version.status).toBe(0);
    const help = spawnSync(OLD_NODE, [BIN, '--help'], { encoding: 'utf8', env: { PATH: SYSTEM_PATH } });
    expect(help.status).toBe(0);
    expect(help.stdout).toContain('gateway');
  });

  it('an npm-linked openclaw (symlinks as npm link makes them, node from PATH) runs the gateway and stops cleanly on SIGTERM and SIGINT', async () => {
    const prefix = tempDir('openclaw-link-');
    mkdirSync(join(prefix, 'lib/node_modules'), { recursive: true });
    mkdirSync(join(prefix, 'bin'));
    symlinkSync(ROOT, join(prefix, 'lib/node_modules/openclaw-gateway'));
    symlinkSync('../lib/node_modules/openclaw-gateway/bin/openclaw.js', join(prefix, 'bin/openclaw'));
    const stateDir = tempDir('openclaw-state-');
    const env = { PATH: `${join(prefix, 'bin')}:${SYSTEM_PATH}`, HOME: stateDir, OPENCLAW_STATE_DIR: stateDir };
    expect(execFileSync('sh', ['-c', 'command -v node'], { env, encoding: 'utf8' }).trim()).toBe(OLD_NODE);

    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      const port = await freePort();
      const gateway = spawnProcess('openclaw', ['gateway', '--port', String(port), '--config', join(ROOT, 'examples/demo.json5')], { env });
      await gateway.waitFor('listening on');
      expect(await chat(port, 'demo-token-change-me')).toBe('Echo: hi');
      gateway.child.kill(signal);
      expect(await gateway.exited).toBe(0);
      expect(gateway.stderr()).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
      expect(gateway.stdout()).toContain('"gateway.closed"');
    }
  });

  it('the gateway stops when its launcher is killed outright (no orphan keeps the port)', async () => {
    const stateDir = tempDir('openclaw-state-');
    const port = await freePort();
    const gateway = spawnProcess(OLD_NODE, [BIN, 'gateway', '--port', String(port), '--config', join(ROOT, 'examples/demo.json5')], {
      env: { PATH: SYSTEM_PATH, HOME: stateDir, OPENCLAW_STATE_DIR: stateDir },
    });
    await gateway.waitFor('listening on');
    gateway.child.kill('SIGKILL');
    // The launcher's stdout is the gateway's: it is gone once the handed-over gateway has exited.
    await new Promise<void>((resolve) => gateway.child.stdout!.on('close', resolve));
    expect(gateway.stdout()).toContain('"gateway.stopping"');
    expect(gateway.stdout()).toContain('"gateway.closed"');
    await expect(fetch(`http://127.0.0.1:${port}/health`)).rejects.toThrow();
  });

  it('npm start serves the demo with its state inside the project, not in ~/.openclaw', async () => {
    const home = tempDir('openclaw-home-');
    const stateDir = tempDir('openclaw-state-');
    const port = await freePort();
    // npm passes `-- --port` on to the gateway; the state dir is chosen so a test run leaves the project's .state alone.
    const npm = spawnGroup('npm', ['start', '--silent', '--', '--port', String(port)], { cwd: ROOT, env: { PATH: SYSTEM_PATH, HOME: home, OPENCLAW_STATE_DIR: stateDir } });
    await npm.waitFor('listening on');
    expect(await chat(port, 'demo-token-change-me', 'alice')).toBe('Echo: hi');
    // The demo's MCP server is started with `node` from PATH: it must get the project's Node too.
    await npm.waitFor('"mcp.server_ready"');
    const ready = await (await fetch(`http://127.0.0.1:${port}/ready`)).json();
    expect(ready.toolServers).toEqual([{ name: 'demo', state: 'ready' }]);
    expect(existsSync(join(stateDir, 'sessions.sqlite'))).toBe(true);
    expect(existsSync(join(home, '.openclaw'))).toBe(false);
    process.kill(-npm.child.pid!, 'SIGTERM');
    await npm.exited;
    expect(npm.stderr()).not.toContain('ERR_UNKNOWN_FILE_EXTENSION');
  });

  it('without a project Node it says in one line what to run, and exits 1', () => {
    const copy = tempDir('openclaw-copy-');
    mkdirSync(join(copy, 'bin'));
    copyFileSync(BIN, join(copy, 'bin/openclaw.js'));
    const result = spawnSync(OLD_NODE, [join(copy, 'bin/openclaw.js'), 'gateway'], { encoding: 'utf8', env: { PATH: SYSTEM_PATH } });
    expect(result.status).toBe(1);
    expect(result.stdout).toBe('');
    const lines = result.stderr.trimEnd().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(`Node ${oldVersion} is too old (22.18 or later needed)`);
    expect(lines[0]).toContain(`bash ${copy}/scripts/ensure-node.sh`);
  });
});

describe('scripts/ensure-node.sh', () => {
  it('accepts only a Node that can run the sources (22.18 or later), not any 22', () => {
    const check = (version: string) => {
      const fake = join(tempDir('openclaw-fake-node-'), 'node');
      writeFileSync(fake, `#!/bin/sh\necho ${version}\n`, { mode: 0o755 });
      const probe = `source ${ROOT}/scripts/ensure-node.sh >/dev/null 2>&1; node_runs_sources ${fake} && echo yes || echo no`;
      return execFileSync('bash', ['-c', probe], { env: { PATH: SYSTEM_PATH, HOME: tmpdir() }, encoding: 'utf8' }).trim();
    };
    expect(check('22.5.0')).toBe('no');
    expect(check('22.17.1')).toBe('no');
    expect(check('22.18.0')).toBe('yes');
    expect(check('23.5.0')).toBe('no');
    expect(check('23.6.0')).toBe('yes');
    expect(check('24.0.0')).toBe('yes');
  });
});

describe('the demo', () => {
  it('scripts/install-deps.sh runs npm ci only when package-lock.json changed since the last install', () => {
    const project = tempDir('openclaw-install-');
    const nodePath = `${join(process.execPath, '..')}:${SYSTEM_PATH}`;
    for (const name of ['dep-a', 'dep-b']) {
      mkdirSync(join(project, name));
      writeFileSync(join(project, name, 'package.json'), JSON.stringify({ name, version: '1.0.0' }));
    }
    const writePackage = (deps: string[]) =>
      writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'sandbox', version: '1.0.0', dependencies: Object.fromEntries(deps.map((d) => [d, `file:./${d}`])) }));
    const npm = (args: string[]) => execFileSync('npm', args, { cwd: project, env: { PATH: nodePath, HOME: project }, encoding: 'utf8' });
    writePackage(['dep-a']);
    npm(['install', '--package-lock-only', '--no-audit', '--no-fund']);
    mkdirSync(join(project, 'scripts'));
    copyFileSync(join(ROOT, 'scripts/install-deps.sh'), join(project, 'scripts/install-deps.sh'));
    const install = () => spawnSync('bash', [join(project, 'scripts/install-deps.sh')], { env: { PATH: nodePath, HOME: project }, encoding: 'utf8' });

    const first = install();
    expect(first.status).toBe(0);
    expect(first.stderr).toContain('Installing npm packages');
    expect(existsSync(join(project, 'node_modules/dep-a'))).toBe(true);
    writeFileSync(join(project, 'node_modules/left-alone'), '');

    const second = install();
    expect(second.status).toBe(0);
    expect(second.stderr).toBe('');
    expect(existsSync(join(project, 'node_modules/left-alone'))).toBe(true);

    writePackage(['dep-a', 'dep-b']);
    npm(['install', '--package-lock-only', '--no-audit', '--no-fund']);
    const third = install();
    expect(third.status).toBe(0);
    expect(third.stderr).toContain('Installing npm packages');
    expect(existsSync(join(project, 'node_modules/dep-b'))).toBe(true);
    expect(existsSync(join(project, 'node_modules/left-alone'))).toBe(false);
  });

  it('scripts/demo.sh keeps its state in .state/demo inside the project (git-ignored) and skips an install that is up to date', async () => {
    // A copy of the project's scripts and entry point around the real sources and packages, with
    // node_modules marked as installed from this lockfile.
    const project = tempDir('openclaw-demo-');
    for (const dir of ['scripts', 'bin', 'examples']) mkdirSync(join(project, dir));
    for (const file of ['scripts/demo.sh', 'scripts/ensure-node.sh', 'scripts/install-deps.sh', 'bin/openclaw.js', 'examples/demo.json5', 'package.json', 'package-lock.json']) {
      copyFileSync(join(ROOT, file), join(project, file));
    }
    for (const dir of ['src', 'generated', 'openapi', '.node']) symlinkSync(join(ROOT, dir), join(project, dir));
    mkdirSync(join(project, 'node_modules'));
    const lockHash = createHash('sha256').update(readFileSync(join(project, 'package-lock.json'))).digest('hex');
    writeFileSync(join(project, 'node_modules/.openclaw-installed-lock'), lockHash);

    const home = tempDir('openclaw-home-');
    const port = await freePort();
    const demo = spawnProcess('bash', [join(project, 'scripts/demo.sh'), '--port', String(port)], { env: { PATH: SYSTEM_PATH, HOME: home } });
    await demo.waitFor('listening on');
    expect(await chat(port, 'demo-token-change-me', 'alice')).toBe('Echo: hi');
    expect(existsSync(join(project, '.state/demo/sessions.sqlite'))).toBe(true);
    expect(existsSync(join(home, '.openclaw'))).toBe(false);
    expect(demo.stderr()).not.toContain('Installing');
    demo.child.kill('SIGTERM');
    expect(await demo.exited).toBe(0);
    expect(spawnSync('git', ['check-ignore', '-q', '.state/demo/sessions.sqlite'], { cwd: ROOT }).status).toBe(0);
  });
});
