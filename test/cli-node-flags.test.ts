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
});
