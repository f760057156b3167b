// The soak's figures (bench/soak.ts): the post-GC heap's slope by least squares over the last part
// of the run, RSS after the warm-up against the end, each against its target, and the report.

export interface Sample {
  /** Minutes since the load started. */
  minute: number;
  /** V8 heap in use right after a forced full GC. */
  heapMB: number;
  rssMB: number;
  /** Requests sent so far. */
  requests: number;
}

/** The targets: a heap that does not climb, RSS that settles. */
export const TARGETS = { heapSlopeMBPerMin: 0.05, rssChange: 0.2 };

export interface Analysis {
  /** Where the slope is fitted from (minutes): the last 10 minutes, or the last third of a shorter run. */
  slopeFrom: number;
  slopeSamples: number;
  heapSlopeMBPerMin: number;
  /** The first sample at or after the warm-up, and the last. */
  rssAfterWarmup: { minute: number; rssMB: number };
  rssEnd: { minute: number; rssMB: number };
  rssChange: number;
  heapSlopePass: boolean;
  rssPass: boolean;
  pass: boolean;
}

/** Least-squares slope of y over x. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mx = points.reduce((s, [x]) => s + x, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

export function analyse(samples: Sample[], options: { minutes: number; warmupMinutes: number }): Analysis {
  const end = samples.at(-1)!;
  const window = options.minutes >= 30 ? 10 : options.minutes / 3;
  const slopeFrom = end.minute - window;
  const fitted = samples.filter((s) => s.minute >= slopeFrom - 1e-9);
  const heapSlope = slope(fitted.map((s) => [s.minute, s.heapMB]));
  const warm = samples.find((s) => s.minute >= options.warmupMinutes - 1e-9) ?? end;
  const rssChange = (end.rssMB - warm.rssMB) / warm.rssMB;
  const heapSlopePass = heapSlope < TARGETS.heapSlopeMBPerMin;
  const rssPass = Math.abs(rssChange) <= TARGETS.rssChange;
  return {
    slopeFrom,
    slopeSamples: fitted.length,
    heapSlopeMBPerMin: heapSlope,
    rssAfterWarmup: { minute: warm.minute, rssMB: warm.rssMB },
    rssEnd: { minute: end.minute, rssMB: end.rssMB },
    rssChange,
    heapSlopePass,
    rssPass,
    pass: heapSlopePass && rssPass,
  };
}

export function formatReport(input: { minutes: number; rate: number; sent: number; counts: Map<string, number>; examples: Map<string, string>; samples: Sample[]; analysis: Analysis; kinds: readonly string[] }): string {
  const { analysis: a, samples } = input;
  const verdict = (ok: boolean) => (ok ? '**pass**' : '**FAIL**');
  const lines = [
    `## Soak: ${input.minutes} min at ${input.rate} requests/s (${input.sent} requests)`,
    '',
    '| figure | value | target | |',
    '|---|---:|---:|---|',
    `| post-GC heap slope, minutes ${a.slopeFrom.toFixed(1)}–${a.rssEnd.minute.toFixed(1)} (${a.slopeSamples} samples) | ${a.heapSlopeMBPerMin.toFixed(4)} MB/min | < ${TARGETS.heapSlopeMBPerMin} MB/min | ${verdict(a.heapSlopePass)} |`,
    `| RSS after warm-up (min ${a.rssAfterWarmup.minute.toFixed(1)}) → end (min ${a.rssEnd.minute.toFixed(1)}) | ${a.rssAfterWarmup.rssMB.toFixed(1)} → ${a.rssEnd.rssMB.toFixed(1)} MB (${a.rssChange >= 0 ? '+' : ''}${(a.rssChange * 100).toFixed(1)} %) | within ${TARGETS.rssChange * 100} % | ${verdict(a.rssPass)} |`,
    `| post-GC heap: first → lowest → highest → last sample | ${samples[0].heapMB.toFixed(2)} → ${Math.min(...samples.map((s) => s.heapMB)).toFixed(2)} → ${Math.max(...samples.map((s) => s.heapMB)).toFixed(2)} → ${samples.at(-1)!.heapMB.toFixed(2)} MB | | |`,
    `| RSS: lowest → highest after warm-up | ${Math.min(...samples.filter((s) => s.minute >= a.rssAfterWarmup.minute).map((s) => s.rssMB)).toFixed(1)} → ${Math.max(...samples.filter((s) => s.minute >= a.rssAfterWarmup.minute).map((s) => s.rssMB)).toFixed(1)} MB | | |`,
    '',
    '| kind | outcome | requests |',
    '|---|---|---:|',
  ];
  const rows = [...input.counts.entries()].map(([key, n]) => [...key.split('\t'), n] as [string, string, number]);
  rows.sort((x, y) => input.kinds.indexOf(x[0]) - input.kinds.indexOf(y[0]) || x[1].localeCompare(y[1]));
  for (const [kind, outcome, n] of rows) lines.push(`| ${kind} | ${outcome} | ${n} |`);
  if (input.examples.size > 0) {
    lines.push('', 'First body of each unexpected outcome:', '');
    for (const [key, body] of input.examples) lines.push(`- ${key.replace('\t', ' ')}: \`${body.replace(/\s+/g, ' ').replace(/`/g, "'")}\``);
  }
  lines.push('', `Verdict: ${a.pass ? 'pass' : 'FAIL'}`);
  return lines.join('\n');
}
