// Preloaded into a gateway by bench/memory.ts (`node --import ./bench/memory-probe.mjs bin/openclaw.js
// gateway …`); nothing in src/ knows about it. Plain JavaScript on purpose: a preloaded .ts file
// would load Node's TypeScript stripper (amaro, ≈17 MB) before the gateway enables its compile
// cache, which otherwise spares it. Every 50 ms it samples process.memoryUsage(),
// v8.getHeapStatistics() and the heap spaces, keeps the latest sample and each figure's peak, and
// writes both as JSON to $BENCH_MEMORY_PROBE_FILE every 250 ms. Creating `<that file>.reset` starts
// the peaks over.
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { getHeapSpaceStatistics, getHeapStatistics } from 'node:v8';

const file = process.env.BENCH_MEMORY_PROBE_FILE;

/** @returns {Record<string, number>} */
function sample() {
  const usage = process.memoryUsage();
  const heap = getHeapStatistics();
  const out = {
    rss: usage.rss,
    heapTotal: usage.heapTotal,
    heapUsed: usage.heapUsed,
    external: usage.external,
    arrayBuffers: usage.arrayBuffers,
    totalPhysical: heap.total_physical_size,
    mallocedMemory: heap.malloced_memory,
    peakMallocedMemory: heap.peak_malloced_memory,
    externalMemory: heap.external_memory,
    nativeContexts: heap.number_of_native_contexts,
  };
  for (const space of getHeapSpaceStatistics()) {
    out[`${space.space_name}.size`] = space.space_size;
    out[`${space.space_name}.used`] = space.space_used_size;
    out[`${space.space_name}.physical`] = space.physical_space_size;
  }
  return out;
}

if (file) {
  let peak = {};
  let latest = {};
  const take = () => {
    if (existsSync(`${file}.reset`)) {
      rmSync(`${file}.reset`, { force: true });
      peak = {};
    }
    latest = sample();
    for (const [key, value] of Object.entries(latest)) peak[key] = Math.max(peak[key] ?? 0, value);
  };
  let ticks = 0;
  setInterval(() => {
    take();
    if (++ticks % 5 === 0) writeFileSync(file, JSON.stringify({ at: Date.now(), latest, peak }));
  }, 50).unref();
}
