// The node flags `openclaw gateway` gives itself (bin/openclaw.js): a smaller young generation and
// a slower-growing old one, unless the operator chose their own values.
import { readFileSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.ts';

const running: GatewayProcess[] = [];
afterEach(async () => {
  for (const gateway of running.splice(0)) await gateway.stop();
});

/** The process's command line as the kernel has it now (execve replaces it, the pid stays). */
function nodeArgs(gateway: GatewayProcess): string[] {
  const argv = readFileSync(`/proc/${gateway.child.pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  return argv.slice(1, argv.findIndex((arg) => arg.endsWith('openclaw.js')));
}

/** GLIBC_TUNABLES in the environment the process runs with now (after execve), or undefined. */
function tunables(gateway: GatewayProcess): string | undefined {
  const env = readFileSync(`/proc/${gateway.child.pid}/environ`, 'utf8').split('\0');
  return env.find((entry) => entry.startsWith('GLIBC_TUNABLES='))?.slice('GLIBC_TUNABLES='.length);
}

describe.skipIf(process.platform !== 'linux')('openclaw gateway node flags', () => {
  it('runs with --max-semi-space-size=16 and --heap-growing-percent=100, in the process that was started', async () => {
    const gateway = await startGatewayProcess({});
    running.push(gateway);
    expect(nodeArgs(gateway)).toEqual(['--max-semi-space-size=16', '--heap-growing-percent=100']);
    const ready = await fetch(`${gateway.url}/ready`);
    expect(ready.status).toBe(200);
  });

  it("keeps the operator's own young-generation size from NODE_OPTIONS and adds only the other flag", async () => {
    const gateway = await startGatewayProcess({}, { env: { NODE_OPTIONS: '--max_semi_space_size=32' } });
    running.push(gateway);
    expect(nodeArgs(gateway)).toEqual(['--heap-growing-percent=100']);
  });

  it('takes OPENCLAW_GATEWAY_NODE_FLAGS instead of its defaults, and none when it is empty', async () => {
    const own = await startGatewayProcess({}, { env: { OPENCLAW_GATEWAY_NODE_FLAGS: '--max-semi-space-size=32' } });
    running.push(own);
    expect(nodeArgs(own)).toEqual(['--max-semi-space-size=32']);
    const none = await startGatewayProcess({}, { env: { OPENCLAW_GATEWAY_NODE_FLAGS: '' } });
    running.push(none);
    expect(nodeArgs(none)).toEqual([]);
  });

  it("fixes glibc's mmap threshold (no rise after start-up frees large blocks), unless GLIBC_TUNABLES is the operator's", async () => {
    const gateway = await startGatewayProcess({});
    running.push(gateway);
    expect(tunables(gateway)).toBe('glibc.malloc.mmap_threshold=4194304');
    const own = await startGatewayProcess({}, { env: { GLIBC_TUNABLES: 'glibc.malloc.arena_max=2' } });
    running.push(own);
    expect(tunables(own)).toBe('glibc.malloc.arena_max=2');
    const none = await startGatewayProcess({}, { env: { GLIBC_TUNABLES: '' } });
    running.push(none);
    expect(tunables(none)).toBe('');
    expect((await fetch(`${none.url}/ready`)).status).toBe(200);
  });

  it('replaces itself for the malloc setting alone when the operator set both node flags', async () => {
    const gateway = await startGatewayProcess({}, { nodeArgs: ['--max-semi-space-size=32', '--heap-growing-percent=50'] });
    running.push(gateway);
    expect(nodeArgs(gateway)).toEqual(['--max-semi-space-size=32', '--heap-growing-percent=50']);
    expect(tunables(gateway)).toBe('glibc.malloc.mmap_threshold=4194304');
  });
});
