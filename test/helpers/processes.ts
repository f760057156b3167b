// Real processes for CLI tests: spawned, their output collected, waited on by what they print
// (never by a clock), and killed when the test ends however it ends.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';

export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string>;
  /** Resolves once `text` appeared on stdout or stderr; rejects if the process exits first. */
  waitFor(text: string | RegExp): Promise<void>;
}

const running = new Set<ChildProcess>();
const groupLeaders = new WeakSet<ChildProcess>();

export function spawnProcess(command: string, args: string[], options: SpawnOptions = {}): Spawned {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], ...options });
  running.add(child);
  let out = '';
  let err = '';
  const listeners = new Set<() => void>();
  const notify = () => {
    for (const listener of listeners) listener();
  };
  child.stdout?.on('data', (chunk) => {
    out += chunk;
    notify();
  });
  child.stderr?.on('data', (chunk) => {
    err += chunk;
    notify();
  });
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      running.delete(child);
      resolve(code ?? signal ?? -1);
    }),
  );
  const matches = (text: string | RegExp) => {
    const all = out + err;
    return typeof text === 'string' ? all.includes(text) : text.test(all);
  };
  return {
    child,
    stdout: () => out,
    stderr: () => err,
    exited,
    waitFor(text) {
      return new Promise((resolve, reject) => {
        if (matches(text)) return resolve();
        const check = () => {
          if (!matches(text)) return;
          listeners.delete(check);
          resolve();
        };
        listeners.add(check);
        void exited.then((code) => {
          if (listeners.delete(check)) reject(new Error(`exited (${code}) before printing ${String(text)}:\n${out}\n${err}`));
        });
      });
    },
  };
}

/** Kills what a test left running: each process, or its whole group when it was started detached. */
export function killAll(): void {
  for (const child of running) {
    try {
      if (child.pid !== undefined) process.kill(groupLeaders.has(child) ? -child.pid : child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  running.clear();
}

/** spawnProcess in a process group of its own (`detached`), so signals and cleanup reach everything it starts. */
export function spawnGroup(command: string, args: string[], options: SpawnOptions = {}): Spawned {
  const spawned = spawnProcess(command, args, { ...options, detached: true });
  groupLeaders.add(spawned.child);
  return spawned;
}

export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise((resolve) => server.close(resolve));
  return port;
}
