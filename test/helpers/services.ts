// The real PostgreSQL and Redis the shared-store tests run against (.ci/run starts them; on a
// developer machine they are the local services). These tests never skip silently: when a service
// does not answer they fail saying so, unless OPENCLAW_TEST_SKIP_SERVICES=1 is set outside CI,
// in which case they are skipped with a warning naming what was skipped.
import { randomBytes } from 'node:crypto';
import { createConnection } from 'node:net';
import pg from 'pg';

export const POSTGRES_ADMIN_URL = process.env.OPENCLAW_TEST_POSTGRES_URL || 'postgres://postgres@127.0.0.1:5432/postgres';
export const REDIS_URL = process.env.OPENCLAW_TEST_REDIS_URL || 'redis://127.0.0.1:6379';

const optedOut = process.env.OPENCLAW_TEST_SKIP_SERVICES === '1' && process.env.CI !== 'true';

export interface ServiceCheck {
  /** Why the service cannot be used, or undefined when it answers. */
  problem: string | undefined;
  /** Skip (with a warning) rather than fail: the service is missing and the opt-out is set. */
  skip: boolean;
}

async function check(name: string, probe: () => Promise<void>): Promise<ServiceCheck> {
  try {
    await probe();
    return { problem: undefined, skip: false };
  } catch (error) {
    const problem =
      `${name} is not reachable (${(error as Error).message}). These tests need it: start it (.ci/run does, see README "Running several replicas"), ` +
      `point OPENCLAW_TEST_POSTGRES_URL / OPENCLAW_TEST_REDIS_URL at one, or set OPENCLAW_TEST_SKIP_SERVICES=1 to skip them outside CI.`;
    if (optedOut) console.warn(`SKIPPED: ${problem}`);
    return { problem, skip: optedOut };
  }
}

export function checkPostgres(): Promise<ServiceCheck> {
  return check(`PostgreSQL at ${POSTGRES_ADMIN_URL}`, async () => {
    const client = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3_000 });
    await client.connect();
    try {
      await client.query('SELECT 1');
    } finally {
      await client.end();
    }
  });
}

export function checkRedis(): Promise<ServiceCheck> {
  return check(`Redis at ${REDIS_URL}`, () => redisPing(REDIS_URL));
}

/** PING over a raw socket: no client library between the test and the question "does it answer". */
export function redisPing(url: string): Promise<void> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = createConnection({ host: hostname, port: Number(port || 6379) });
    const timer = setTimeout(() => socket.destroy(new Error('no answer within 3 s')), 3_000);
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      clearTimeout(timer);
      socket.end();
      if (data.toString().startsWith('+PONG')) resolve();
      else reject(new Error(`unexpected answer ${JSON.stringify(data.toString().trim())}`));
    });
    socket.once('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

export interface TestDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/** A fresh database on the server behind `adminUrl`, so test files never see each other's data. */
export async function createTestDatabase(tag: string, adminUrl = POSTGRES_ADMIN_URL): Promise<TestDatabase> {
  const name = `openclaw_test_${tag}_${process.pid}_${randomBytes(3).toString('hex')}`;
  await runSql(adminUrl, `CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    name,
    url: url.toString(),
    async drop() {
      await runSql(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    },
  };
}

/** One statement on its own connection (administration and inspection from tests). */
export async function runSql<Row = Record<string, unknown>>(url: string, statement: string, params: unknown[] = []): Promise<Row[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
  await client.connect();
  try {
    return (await client.query(statement, params)).rows as Row[];
  } finally {
    await client.end();
  }
}
