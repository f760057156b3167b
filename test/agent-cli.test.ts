// `openclaw agent`: spawned as a real process against a temp config and state dir.
import { spawn } from 'node:child_process';
import { chatTranscript } from './helpers/sessions.ts';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDefaultSessionStore } from '../src/sessions/open.ts';
import { startFakeUpstream, type FakeUpstream } from './fixtures/upstream.ts';

const BIN = resolve(import.meta.dirname, '../bin/openclaw.js');
let dir: string;
let stateDir: string;
let configPath: string;
let upstream: FakeUpstream;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `openclaw agent`; `onStdout` sees the output as it grows. */
function cli(args: string[], onStdout?: (stdout: string) => void, config = configPath): Promise<Run> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, [BIN, 'agent', '--config', config, ...args], {
      env: { PATH: process.env.PATH, HOME: dir, OPENCLAW_STATE_DIR: stateDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = { code: null, stdout: '', stderr: '' };
    child.stdout.on('data', (data) => {
      run.stdout += data;
      onStdout?.(run.stdout);
    });
    child.stderr.on('data', (data) => (run.stderr += data));
    child.on('error', fail);
    child.on('close', (code) => done({ ...run, code }));
  });
}

beforeAll(async () => {
  upstream = await startFakeUpstream();
  dir = mkdtempSync(join(tmpdir(), 'openclaw-agent-cli-'));
  stateDir = join(dir, 'state');
  configPath = join(dir, 'openclaw.json5');
  writeFileSync(
    configPath,
    `{
      // echo stays the offline default; "slow" is a real provider against the fake upstream
      models: { providers: { up: { api: "openai-completions", baseUrl: "${upstream.baseUrl}", maxRetries: 0 } } },
      agents: { list: [ { id: "main", default: true }, { id: "slow", model: "up/slow-model" } ] },
    }`,
  );
});

afterAll(async () => {
  await upstream?.close();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('openclaw agent', () => {
  it('prints the reply of the echo agent', async () => {
    const run = await cli(['--agent', 'main', '--message', 'hello there']);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toBe('Echo: hello there\n');
  });

  it('--json prints the full result', async () => {
    const run = await cli(['--message', 'json please', '--json']);
    expect(run.code).toBe(0);
    const result = JSON.parse(run.stdout);
    expect(result).toMatchObject({ agentId: 'main', sessionKey: null, model: 'echo/echo', content: 'Echo: json please', toolCalls: [], finishReason: 'stop' });
    expect(result.usage.completion_tokens).toBeGreaterThan(0);
  });

  it('--stream shows each tool step on stderr as it runs, the reply alone on stdout', async () => {
    const withTools = join(dir, 'tools.json5');
    const server = resolve(import.meta.dirname, '../examples/mcp-demo-server.ts');
    writeFileSync(
      withTools,
      `{
        mcp: { servers: { demo: { command: ${JSON.stringify(process.execPath)}, args: [${JSON.stringify(server)}] } } },
        agents: { list: [ { id: "main", default: true, tools: { allow: ["demo__*"] } } ] },
      }`,
    );
    const run = await cli(['--message', '/tool demo__add_note {"text": "buy milk"}', '--stream'], undefined, withTools);
    expect(run.code).toBe(0);
    const steps = run.stderr.split('\n').filter((line) => line.startsWith('[tool] '));
    expect(steps).toEqual(['[tool] demo__add_note({"text": "buy milk"})', expect.stringMatching(/^\[tool\] demo__add_note: ok \(\d+ ms\)$/)]);
    expect(run.stdout).toContain('Tool result:');
    expect(run.stdout).not.toContain('[tool]');
  });

  it('--stream prints the reply as it arrives', async () => {
    // The upstream holds the rest of its reply until the first words are on the terminal: a CLI
    // that printed only at the end would never show them, and the run would not finish.
    let release!: () => void;
    const shown = new Promise<void>((resolve) => (release = resolve));
    upstream.setScript(() => ({ kind: 'text', text: 'one two three four', chunks: 2, holdAfter: { chunks: 1, until: shown } }));
    let printedBeforeTheRest = '';
    const run = await cli(['--agent', 'slow', '--message', 'go', '--stream'], (stdout) => {
      if (printedBeforeTheRest === '' && stdout.length > 0) {
        printedBeforeTheRest = stdout;
        release();
      }
    });
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(printedBeforeTheRest).toBe('one two t');
    expect(run.stdout).toBe('one two three four\n');
  });

  it('--session-key and --user keep the conversation in the store', async () => {
    expect((await cli(['--message', 'first', '--session-key', 'cli-test'])).code).toBe(0);
    expect((await cli(['--message', 'second', '--session-key', 'cli-test'])).code).toBe(0);
    expect((await cli(['--message', 'as alice', '--user', 'alice'])).code).toBe(0);
    const store = openDefaultSessionStore(stateDir)!;
    try {
      const transcript = await chatTranscript(store, 'agent:main:cli-test');
      expect(transcript.map((m) => [m.role, m.content])).toEqual([
        ['user', 'first'],
        ['assistant', 'Echo: first'],
        ['user', 'second'],
        ['assistant', 'Echo: second'],
      ]);
      expect((await chatTranscript(store, 'agent:main:openai-user:alice')).map((m) => m.content)).toEqual(['as alice', 'Echo: as alice']);
    } finally {
      await store.close();
    }
  });

  it('an unknown agent is an error with a non-zero exit', async () => {
    const run = await cli(['--agent', 'ghost', '--message', 'hi']);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(/ghost/);
  });

  it('an upstream failure exits non-zero with the gateway message', async () => {
    upstream.setScript(() => ({ kind: 'status', status: 500 }));
    const run = await cli(['--agent', 'slow', '--message', 'hi']);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/Provider up \(http:\/\/127\.0\.0\.1:\d+\/v1\) failed with HTTP 500/);
  });
});
