// Event-loop delay of a bench child process (the floor and bare express proxies), measured the same
// way the gateway's /metrics does (perf_hooks.monitorEventLoopDelay, 10 ms resolution) and read
// by the runner over the IPC channel it spawned the child with: `{ type: 'loop-delay' }` answers
// the p50 / p99 / max since the previous ask, in ms, and starts the next window.
import { monitorEventLoopDelay } from 'node:perf_hooks';

export interface LoopDelay {
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
  samples: number;
}

export function answerLoopDelayQueries(): void {
  if (!process.send) return;
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  process.on('message', (message: { type?: string }) => {
    if (message?.type !== 'loop-delay') return;
    const reply: LoopDelay = {
      p50Ms: histogram.percentile(50) / 1e6,
      p99Ms: histogram.percentile(99) / 1e6,
      maxMs: histogram.max / 1e6,
      samples: histogram.count,
    };
    histogram.reset();
    process.send!({ type: 'loop-delay', ...reply });
  });
  // The IPC channel must not keep the process alive on its own.
  process.channel?.unref();
}
