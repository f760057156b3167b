// `openclaw gateway` as its own process (a temp config and state dir), for what only a separate
// process shows: its memory, a second process on the same session store, signals.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { mergeDeep, TEST_TOKEN } from './gateway.ts';

export const BIN = resolve(import.meta.dirname, '../../bin/openclaw.js');

export interface GatewayProcess {
  child: ChildProcess;
  url: string;
  token: string;
  dir: string;
  stateDir: string;
  configPath: string;
  stderr(): string;
  stdout(): string;
  /** Resident memory of the gateway process, in bytes (from /proc/<pid>/status). */
  rssBytes(): number;
  /** SIGTERM, then waits for the exit; removes the temp dir. */
  stop(): Promise<number | null>;
}

/** Writes `config` (the endpoint enabled and the test token set unless it says otherwise) and starts the gateway on an ephemeral port. */
export async function startGatewayProcess(config: Record<string, any>, options: { env?: Record<string, string>; dir?: string; nodeArgs?: string[] } = {}): Promise<GatewayProcess> {
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'openclaw-proc-'));
  const stateDir = join(dir, 'state');
  const configPath = join(dir, 'openclaw.json');
  writeFileSync(configPath, JSON.stringify(mergeDeep({ gateway: { auth: { mode: 'token', token: TEST_TOKEN }, http: { endpoints: { chatCompletions: { enabled: true } } } } }, config)));
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), BIN, 'gateway', '--config', configPath, '--port', '0', '--bind', '127.0.0.1'], {
    env: { PATH: process.env.PATH ?? '', HOME: dir, OPENCLAW_STATE_DIR: stateDir, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stderr = '';
  let stdout = '';
  child.stdout!.on('data', (chunk) => (stdout += chunk));
  const exited = new Promise<number | null>((done) => child.once('exit', (code) => done(code)));
  const url = await new Promise<string>((done, fail) => {
    child.stderr!.on('data', (chunk) => {
      stderr += chunk;
      const match = /listening on (http:\/\/\S+)/.exec(stderr);
      if (match) done(match[1]);
    });
    void exited.then((code) => fail(new Error(`gateway exited with ${code} before listening:\n${stderr}`)));
  });
  return {
    child,
    url,
    token: TEST_TOKEN,
    dir,
    stateDir,
    configPath,
    stderr: () => stderr,
    stdout: () => stdout,
    rssBytes() {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const kb = Number(/^VmRSS:\s+(\d+) kB/m.exec(status)![1]);
      return kb * 1024;
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      const code = await exited;
      if (!options.dir) rmSync(dir, { recursive: true, force: true });
      return code;
    },
  };
}
