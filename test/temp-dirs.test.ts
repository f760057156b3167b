// Tests leave nothing in the machine's temp folder: what they create goes under the run's own
// folder (test/global-setup.ts), which is removed when the run ends.
import { existsSync, mkdtempSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, inject, it } from 'vitest';
import { startTestGateway } from './helpers/gateway.ts';

describe('temporary folders', () => {
  it('tmpdir() is the run folder, itself under the machine temp folder', () => {
    const runDir = inject('testRunDir');
    expect(tmpdir()).toBe(runDir);
    expect(runDir).toMatch(/\/openclaw-test-[^/]+$/);
    const made = mkdtempSync(join(tmpdir(), 'anything-'));
    expect(dirname(made)).toBe(runDir);
  });

  it('a test gateway removes its state dir when closed, also when it had sessions stored', async () => {
    const gw = await startTestGateway();
    await gw.client.chat.completions.create({ model: 'openclaw', user: 'alice', messages: [{ role: 'user', content: 'hi' }] });
    expect(readdirSync(gw.stateDir)).toContain('sessions.sqlite');
    await gw.close();
    expect(existsSync(gw.stateDir)).toBe(false);
  });
});
