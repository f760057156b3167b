// The store is operable: a consistent backup while the gateway writes, pruning by age from the
// CLI, and the gateway applying sessions.retention by itself.
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DatabaseSync } from 'node:sqlite';
import { afterEach, describe, expect, it } from 'vitest';
import { parseConfig } from '../src/config/load.ts';
import { createLogger } from '../src/log.ts';
import { SqliteSessionStore } from '../src/sessions/sqlite-store.ts';
import { startTestGateway, type TestGateway } from './helpers/gateway.ts';

const BIN = new URL('../bin/openclaw.js', import.meta.url).pathname;
const DAY = 86_400_000;

let gw: TestGateway | undefined;
afterEach(async () => {
  await gw?.close();
  gw = undefined;
});

function tempDir(): string {
  return mkdtempSync(join(tmpdir(), 'openclaw-store-ops-'));
}

function cli(args: string[], env: Record<string, string>) {
  return spawnSync(process.execPath, [BIN, 'sessions', ...args], { env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), ...env }, encoding: 'utf8' });
}

const userTurn = (text: string) => ({ messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text }] }], meta: {} });

/** A store with these sessions, each last updated `ageDays` ago. */
async function seed(stateDir: string, sessions: Array<{ key: string; ageDays: number }>): Promise<string> {
  const file = join(stateDir, 'sessions.sqlite');
  const store = new SqliteSessionStore(file);
  for (const { key } of sessions) await store.appendTurn(key, userTurn('hello'), { expectedPosition: 0 });
  await store.close();
  const db = new DatabaseSync(file);
  const setUpdated = db.prepare('UPDATE sessions SET updated_at = ? WHERE key = ?');
  for (const { key, ageDays } of sessions) setUpdated.run(Date.now() - ageDays * DAY, key);
  db.close();
  return file;
}

async function sessionKeys(file: string): Promise<string[]> {
  const store = new SqliteSessionStore(file);
  try {
    return (await store.listSessions()).map((s) => s.key).sort();
  } finally {
    await store.close();
  }
}

describe('openclaw sessions backup', () => {
  it('copies the store consistently while the gateway writes to it; the copy opens as a store, whole', async () => {
    gw = await startTestGateway();
    const running = gw;
    const ask = (user: string, text: string) =>
      fetch(`${running.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${running.token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'openclaw', user, messages: [{ role: 'user', content: text }] }),
      }).then((res) => {
        expect(res.status).toBe(200);
        return res.json();
      });
    for (let i = 0; i < 40; i++) await ask(`before-${i}`, 'hi');

    // Write load: four clients adding turns to their sessions until the backup has finished.
    const destination = join(tempDir(), 'backup.sqlite');
    let backupDone = false;
    let writesDuringBackup = 0;
    const writers = Array.from({ length: 4 }, async (_, worker) => {
      for (let turn = 0; !backupDone; turn++) {
        await ask(`load-${worker}`, `turn ${turn}`);
        if (!backupDone) writesDuringBackup++;
      }
    });
    const backup = spawn(process.execPath, [BIN, 'sessions', 'backup', destination], { env: { PATH: process.env.PATH ?? '', HOME: tmpdir(), OPENCLAW_STATE_DIR: running.stateDir } });
    let stdout = '';
    let stderr = '';
    backup.stdout.on('data', (chunk) => (stdout += chunk));
    backup.stderr.on('data', (chunk) => (stderr += chunk));
    const code = await new Promise<number | null>((resolve) => backup.on('exit', resolve));
    backupDone = true;
    await Promise.all(writers);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(writesDuringBackup).toBeGreaterThan(0);
    expect(stdout).toMatch(/^Backed up .*sessions\.sqlite to .*backup\.sqlite: \d+ sessions, schema version \d+, \d+ KiB\.\n$/);

    // One self-contained file, readable only by its owner.
    expect(existsSync(`${destination}-wal`)).toBe(false);
    expect(statSync(destination).mode & 0o777).toBe(0o600);
    const copy = new SqliteSessionStore(destination);
    try {
      const sessions = await copy.listSessions();
      for (let i = 0; i < 40; i++) expect(sessions.some((s) => s.key === `agent:main:openai-user:before-${i}`)).toBe(true);
      // Consistent: every session's counters agree with the messages and turns the copy holds.
      for (const session of sessions) {
        const transcript = await copy.loadTranscript(session.key);
        expect(transcript.messages).toHaveLength(session.messageCount);
        expect(await copy.listTurns(session.key)).toHaveLength(session.turnCount);
        expect(transcript.messages.at(-1)?.role).toBe('assistant');
      }
      expect(stdout).toContain(`: ${sessions.length} sessions,`);
    } finally {
      await copy.close();
    }

    const again = cli(['backup', destination], { OPENCLAW_STATE_DIR: running.stateDir });
    expect(again.status).toBe(1);
    expect(again.stderr).toContain(`${destination} already exists; name a new file (or pass --force to replace it).`);
    expect(cli(['backup', '--force', destination], { OPENCLAW_STATE_DIR: running.stateDir }).status).toBe(0);
  });

  it('says so when there is no store to back up', () => {
    const stateDir = tempDir();
    const result = cli(['backup', join(stateDir, 'copy.sqlite')], { OPENCLAW_STATE_DIR: stateDir });
    expect(result.status).toBe(1);
    expect(result.stderr).toContain(`There is no session store at ${join(stateDir, 'sessions.sqlite')}.`);
    expect(existsSync(join(stateDir, 'copy.sqlite'))).toBe(false);
  });
});

describe('openclaw sessions prune', () => {
  const sessions = [
    { key: 'agent:main:old-1', ageDays: 45 },
    { key: 'agent:main:old-2', ageDays: 31 },
    { key: 'agent:main:recent', ageDays: 10 },
    { key: 'agent:main:today', ageDays: 0 },
  ];

  it('--older-than 30d deletes what was not updated for 30 days; --dry-run only counts', async () => {
    const stateDir = tempDir();
    const file = await seed(stateDir, sessions);
    const dry = cli(['prune', '--older-than', '30d', '--dry-run'], { OPENCLAW_STATE_DIR: stateDir });
    expect(dry.status).toBe(0);
    expect(dry.stdout).toMatch(/^Would delete 2 sessions not updated since \S+Z \(older than 30d\)\.\n$/);
    expect(await sessionKeys(file)).toHaveLength(4);

    const pruned = cli(['prune', '--older-than', '30d'], { OPENCLAW_STATE_DIR: stateDir });
    expect(pruned.status).toBe(0);
    expect(pruned.stdout).toMatch(/^Deleted 2 sessions not updated since \S+Z \(older than 30d\)\.\n$/);
    expect(await sessionKeys(file)).toEqual(['agent:main:recent', 'agent:main:today']);

    expect(cli(['prune', '--older-than', '1w'], { OPENCLAW_STATE_DIR: stateDir }).stdout).toContain('Deleted 1 sessions');
    expect(await sessionKeys(file)).toEqual(['agent:main:today']);
  });

  it('without --older-than it uses sessions.retention from the config (--config); refuses when neither is given or the age is not one', async () => {
    const stateDir = tempDir();
    const file = await seed(stateDir, sessions);
    const config = join(stateDir, 'retention.json5');
    writeFileSync(config, '{ sessions: { retention: "40d" } }');
    const byConfig = cli(['prune', '--config', config], { OPENCLAW_STATE_DIR: stateDir });
    expect(byConfig.status).toBe(0);
    expect(byConfig.stdout).toContain('Deleted 1 sessions');
    expect(byConfig.stdout).toContain('(older than 40d)');
    expect(await sessionKeys(file)).toEqual(['agent:main:old-2', 'agent:main:recent', 'agent:main:today']);

    const neither = cli(['prune'], { OPENCLAW_STATE_DIR: stateDir });
    expect(neither.status).toBe(2);
    expect(neither.stderr).toContain('give --older-than (e.g. 30d), or set sessions.retention in the config');
    const notAnAge = cli(['prune', '--older-than', '30 days'], { OPENCLAW_STATE_DIR: stateDir });
    expect(notAnAge.status).toBe(2);
    expect(notAnAge.stderr).toContain('--older-than "30 days": must be a whole number and a unit');
    expect(await sessionKeys(file)).toHaveLength(3);
  });
});

describe('sessions.retention', () => {
  it('the gateway prunes at start, and again when the setting changes', async () => {
    const stateDir = tempDir();
    await seed(stateDir, [
      { key: 'agent:main:ancient', ageDays: 400 },
      { key: 'agent:main:weeks', ageDays: 20 },
      { key: 'agent:main:fresh', ageDays: 0 },
    ]);
    const logs: string[] = [];
    const logger = createLogger({ destination: { write: (line: string) => logs.push(line) } as unknown as NodeJS.WritableStream });
    gw = await startTestGateway({ sessions: { retention: '90d' } }, { stateDir, logger });
    const pruned = () => logs.map((line) => JSON.parse(line)).filter((entry) => entry.event === 'sessions.pruned');
    await waitFor(() => pruned().length === 1);
    expect(pruned()[0]).toMatchObject({ level: 'info', deleted: 1, retention: '90d' });
    expect((await gw.gateway.runtime.store!.listSessions()).map((s) => s.key).sort()).toEqual(['agent:main:fresh', 'agent:main:weeks']);

    gw.gateway.applyConfig(parseConfig({ ...gw.gateway.runtime.current.config, agents: { list: [{ id: 'main' }] }, sessions: { retention: '7d' } }, {}));
    await waitFor(() => pruned().length === 2);
    expect(pruned()[1]).toMatchObject({ deleted: 1, retention: '7d' });
    expect((await gw.gateway.runtime.store!.listSessions()).map((s) => s.key)).toEqual(['agent:main:fresh']);
  });

  it('is validated as a duration', () => {
    expect(() => parseConfig({ sessions: { retention: '30 days' } }, {})).toThrow('sessions.retention: must be a whole number and a unit: s, m (minutes), h, d or w ("30d", "12h")');
    expect(parseConfig({}, {}).sessions.retention).toBeUndefined();
  });
});

async function waitFor(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((resolve) => setTimeout(resolve, 20));
}
