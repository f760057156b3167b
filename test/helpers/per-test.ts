// Gateways and upstreams a test starts, closed after it (last started, first closed), with any other
// cleanup the test pushes.
import { afterEach } from 'vitest';
import { startFakeUpstream, type FakeUpstream } from '../fixtures/upstream.ts';
import { startTestGateway, type TestGateway } from './gateway.ts';

export function perTestResources() {
  const cleanups: Array<() => Promise<void> | void> = [];
  afterEach(async () => {
    while (cleanups.length > 0) await cleanups.pop()!();
  });
  return {
    cleanups,
    async start(raw: Record<string, any> = {}): Promise<TestGateway> {
      const gw = await startTestGateway(raw);
      cleanups.push(() => gw.close());
      return gw;
    },
    async upstream(...args: Parameters<typeof startFakeUpstream>): Promise<FakeUpstream> {
      const up = await startFakeUpstream(...args);
      cleanups.push(() => up.close());
      return up;
    },
  };
}
