// Preloaded into a gateway by `node bench/run.ts --stateful-only` (`node --import ./bench/loop-probe.mjs
// bin/openclaw.js gateway …`); nothing in src/ knows about it. The gateway's own /metrics measure the
// event-loop delay at 10 ms resolution, too coarse to tell whether a transcript read blocks the loop
// for more than 1 ms: this one measures at 1 ms. When the runner creates `$BENCH_LOOP_PROBE_FILE.ask`
// the probe writes p50 / p99 / max (ms) and the sample count since the previous ask to the file and
// starts the next window. Plain JavaScript for the reason given in memory-probe.mjs.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { monitorEventLoopDelay } from 'node:perf_hooks';

const file = process.env.BENCH_LOOP_PROBE_FILE;
if (file) {
  const histogram = monitorEventLoopDelay({ resolution: 1 });
  histogram.enable();
  setInterval(() => {
    if (!existsSync(`${file}.ask`)) return;
    const figures = { p50Ms: histogram.percentile(50) / 1e6, p99Ms: histogram.percentile(99) / 1e6, maxMs: histogram.max / 1e6, samples: histogram.count };
    histogram.reset();
    writeFileSync(file, JSON.stringify(figures));
    rmSync(`${file}.ask`, { force: true });
  }, 20).unref();
}
