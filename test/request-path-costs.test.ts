// What the request path puts off or settles once, so that it is not paid in front of a model call:
// a run's deferred work (a tool call's log line and metrics) and Node's url.parse deprecation check.
import { spawnSync } from 'node:child_process';
import { setImmediate as checkPhase } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { AfterDispatch } from '../src/runs/after-dispatch.ts';
import { capturedLogger } from './helpers/captured-logger.ts';

describe("a run's deferred work", () => {
  it('runs in the check phase after the next one, in the order it was added, once', async () => {
    const { logger } = capturedLogger();
    const after = new AfterDispatch(logger);
    const done: string[] = [];
    after.add(() => done.push('first'));
    after.add(() => done.push('second'));
    expect(done).toEqual([]);
    // The check phase in which a model call's request is written on a reused connection.
    await checkPhase();
    expect(done).toEqual([]);
    await checkPhase();
    expect(done).toEqual(['first', 'second']);
    await checkPhase();
    await checkPhase();
    expect(done).toEqual(['first', 'second']);
  });

  it('is done at once by flush (once the run\'s end is written), and not again later', async () => {
    const { logger } = capturedLogger();
    const after = new AfterDispatch(logger);
    const done: string[] = [];
    after.add(() => done.push('line'));
    after.flush();
    expect(done).toEqual(['line']);
    after.add(() => done.push('next'));
    await checkPhase();
    await checkPhase();
    await checkPhase();
    expect(done).toEqual(['line', 'next']);
  });

  it('logs a piece that throws and still does the rest', async () => {
    const { logger, lines } = capturedLogger();
    const after = new AfterDispatch(logger);
    const done: string[] = [];
    after.add(() => {
      throw new Error('label missing');
    });
    after.add(() => done.push('after the failure'));
    after.flush();
    expect(done).toEqual(['after the failure']);
    await new Promise((resolve) => logger.flush(resolve));
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'error', event: 'run.deferred_failed', err: { message: 'label missing' } });
  });
});

describe("Node's url.parse deprecation check", () => {
  it('is settled without a warning, and the deprecation setting is left as it was', () => {
    const spec = fileURLToPath(new URL('../src/http/spec.ts', import.meta.url));
    const script = `
      import { parse } from 'node:url';
      const { settleUrlParseWarning } = await import(${JSON.stringify(spec)});
      const warnings = [];
      process.on('warning', (warning) => warnings.push(warning.code ?? warning.name));
      const before = process.noDeprecation;
      settleUrlParseWarning();
      const restored = process.noDeprecation === before;
      // Settled: a later call, even from outside node_modules, does not warn either.
      parse('/v1/models?x=1');
      await new Promise((resolve) => setImmediate(resolve));
      console.log(JSON.stringify({ warnings, restored }));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    expect(child.stderr).not.toMatch(/DEP0169|DeprecationWarning/);
    expect(JSON.parse(child.stdout.trim())).toEqual({ warnings: [], restored: true });
  });

  it('would warn from a caller outside node_modules if it were not settled (the check is real)', () => {
    const script = `
      import { parse } from 'node:url';
      const warnings = [];
      process.on('warning', (warning) => warnings.push(warning.code));
      parse('/v1/models');
      await new Promise((resolve) => setImmediate(resolve));
      console.log(JSON.stringify(warnings));
    `;
    const child = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(child.status, child.stderr).toBe(0);
    expect(JSON.parse(child.stdout.trim())).toEqual(['DEP0169']);
  });
});
