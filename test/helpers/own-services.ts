// Services a test runs for itself (its own Redis or PostgreSQL), to stop and restart without
// touching the shared ones.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './processes.ts';
import { redisPing } from './services.ts';

async function until(what: string, check: () => Promise<boolean>, attempts = 200): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${what} did not come up`);
}

export interface OwnRedis {
  url: string;
  port: number;
  /** Kills it (SIGKILL: an outage, not a shutdown). */
  stop(): Promise<void>;
  /** Starts it again on the same port (empty: it keeps nothing on disk). */
  start(): Promise<void>;
}

/** A redis-server of the test's own on a free port. */
export async function startOwnRedis(): Promise<OwnRedis> {
  const port = await freePort();
  const url = `redis://127.0.0.1:${port}`;
  let child: ChildProcess | undefined;
  const own: OwnRedis = {
    url,
    port,
    async start() {
      child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: 'ignore' });
      await until(`redis-server on ${port}`, () => redisPing(url).then(() => true, () => false));
    },
    async stop() {
      const running = child;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    },
  };
  await own.start();
  return own;
}

export interface OwnPostgres {
  /** The `postgres` database of this instance (create test databases through it). */
  adminUrl: string;
  port: number;
  /** `pg_ctl stop -m immediate`: the server goes away at once, as in a crash. */
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

/** Debian's server binaries (`/usr/lib/postgresql/<version>/bin`, the newest installed), or OPENCLAW_TEST_PG_BIN. */
function postgresBin(): string {
  if (process.env.OPENCLAW_TEST_PG_BIN) return process.env.OPENCLAW_TEST_PG_BIN;
  const versions = existsSync('/usr/lib/postgresql') ? readdirSync('/usr/lib/postgresql').filter((name) => /^\d+$/.test(name)) : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest) throw new Error('No PostgreSQL server binaries under /usr/lib/postgresql (initdb, pg_ctl); install postgresql or set OPENCLAW_TEST_PG_BIN.');
  return `/usr/lib/postgresql/${newest}/bin`;
}

/**
 * A PostgreSQL server of the test's own (initdb into a temp dir, on a free port), to stop and
 * start under load without touching the shared one. initdb and postgres refuse to run as root, so
 * as root they run as the `postgres` user.
 */
export async function startOwnPostgres(): Promise<OwnPostgres> {
  const PG_BIN = postgresBin();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'openclaw-pg-'));
  const asRoot = process.getuid?.() === 0;
  if (asRoot) chownSync(dir, Number(spawnSync('id', ['-u', 'postgres']).stdout.toString().trim()), Number(spawnSync('id', ['-g', 'postgres']).stdout.toString().trim()));
  const run = (command: string, args: string[]) => {
    const [file, argv] = asRoot ? ['runuser', ['-u', 'postgres', '--', command, ...args]] : [command, args];
    const result = spawnSync(file, argv, { encoding: 'utf8' });
    if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${result.stderr || result.stdout}`);
  };
  const data = join(dir, 'data');
  run(`${PG_BIN}/initdb`, ['-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '--no-instructions']);
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  const own: OwnPostgres = {
    adminUrl,
    port,
    async start() {
      run(`${PG_BIN}/pg_ctl`, ['-D', data, '-l', join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
    },
    async stop() {
      run(`${PG_BIN}/pg_ctl`, ['-D', data, '-m', 'immediate', '-w', 'stop']);
    },
    async destroy() {
      try {
        await own.stop();
      } catch {
        // already stopped
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  await own.start();
  return own;
}
