// Where the gateway's memory goes, measured: the same load as `npm run bench` (20-chunk upstream;
// stateless and stateful cells at 1, 16 and 64 connections), then 1,000 idle streams on a fresh
// gateway, with the gateway's own view of its memory sampled every 50 ms (bench/memory-probe.mjs,
// preloaded: process.memoryUsage(), v8 heap statistics and spaces) and its mappings from
// /proc/<pid>/smaps. Then, on other gateways (writing a heap snapshot takes native memory that the
// process keeps, so it would spoil the figures above), heap snapshots (--heapsnapshot-signal)
// summarised by constructor. With --heaptrack the figure gateways run under heaptrack, and its peak
// native (malloc) consumers are added.
//
//   node bench/memory.ts [--quick] [--no-snapshots] [--heaptrack] [--node-args=--max-semi-space-size=16]
// Writes the report to stdout and bench/results/memory-<date>/ (snapshots, JSON).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { diffHeaps, formatGroups, summariseHeap, type HeapSummary } from './heap-summary.ts';
import { procStatus } from './proc-stats.ts';
import { seededUser, seedSessions } from './seed-sessions.ts';

/** One sample of bench/memory-probe.mjs: memoryUsage, heap statistics and `<space>.size|used|physical`, in bytes. */
type Sample = Record<string, number>;

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const TOKEN = 'bench-token-0123456789abcdef';
const { values: flags } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'no-snapshots': { type: 'boolean', default: false },
    heaptrack: { type: 'boolean', default: false },
    'node-args': { type: 'string', default: '' },
    'idle-streams': { type: 'string' },
  },
});
const QUICK = flags.quick!;
const SNAPSHOTS = !flags['no-snapshots'];
const HEAPTRACK = flags.heaptrack!;
const NODE_ARGS = flags['node-args']!.split(/\s+/).filter(Boolean);
const CELL_SEC = QUICK ? 1.5 : 4;
const CONNECTIONS = QUICK ? [16, 64] : [1, 16, 64];
const IDLE_STREAMS = Number(flags['idle-streams'] ?? (QUICK ? 200 : 1_000));
const SESSIONS = QUICK ? 500 : 3_000;

const children = new Set<ChildProcess>();
const temp = new Set<string>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
  for (const dir of temp) rmSync(dir, { recursive: true, force: true });
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));
const log = (line: string) => process.stderr.write(`[memory] ${line}\n`);

const startedAt = new Date();
const outDir = join(ROOT, 'bench', 'results', `memory-${startedAt.toISOString().replace(/[:.]/g, '-')}`);
mkdirSync(outDir, { recursive: true });

async function waitForLine(child: ChildProcess, stream: 'stdout' | 'stderr', pattern: RegExp): Promise<RegExpExecArray> {
  let text = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within 30 s: ${text}`)), 30_000);
    child[stream]!.on('data', (data: Buffer) => {
      text += data.toString();
      const match = pattern.exec(text);
      if (match) {
        clearTimeout(timer);
        resolve(match);
      }
    });
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${text}`)));
  });
}

async function startUpstream(): Promise<{ child: ChildProcess; url: string; configure(o: object): Promise<void>; held(): Promise<number> }> {
  const child = spawn(process.execPath, [join(ROOT, 'bench', 'upstream.ts'), '--chunks', '20'], { stdio: ['pipe', 'pipe', 'inherit'] });
  children.add(child);
  const port = Number((await waitForLine(child, 'stdout', /"port":(\d+)/))[1]);
  const url = `http://127.0.0.1:${port}`;
  return {
    child,
    url,
    async configure(options) {
      await fetch(`${url}/_bench/config`, { method: 'POST', body: JSON.stringify(options) });
    },
    async held() {
      return ((await (await fetch(`${url}/_bench/stats`)).json()) as { held: number }).held;
    },
  };
}

interface Gateway {
  /** The node process itself (under heaptrack, the wrapper's child). */
  pid: number;
  child: ChildProcess;
  url: string;
  stateDir: string;
  probeFile: string;
  snapshotDir: string;
  heaptrackFile?: string;
  stop(): Promise<void>;
}

async function startGateway(upstreamUrl: string, name: string, options: { heaptrack?: boolean } = {}): Promise<Gateway> {
  const dir = mkdtempSync(join(tmpdir(), 'openclaw-memory-'));
  temp.add(dir);
  const configPath = join(dir, 'config.json5');
  writeFileSync(
    configPath,
    JSON.stringify({
      // Loopback is one address: its per-address limits are lifted for the load.
      gateway: { auth: { mode: 'token', token: TOKEN }, http: { maxConnectionsPerAddress: 0, maxConcurrentRunsPerAddress: 0, endpoints: { chatCompletions: { enabled: true } } } },
      models: { providers: { up: { api: 'openai-completions', baseUrl: `${upstreamUrl}/v1`, apiKey: 'bench' } } },
      agents: { defaults: { model: 'up/bench' }, list: [{ id: 'main', default: true }] },
    }),
  );
  const snapshotDir = join(dir, 'snapshots');
  mkdirSync(snapshotDir);
  const probeFile = join(dir, 'probe.json');
  const args = [...NODE_ARGS, '--import', join(ROOT, 'bench', 'memory-probe.mjs'), '--heapsnapshot-signal=SIGUSR2', `--diagnostic-dir=${snapshotDir}`, join(ROOT, 'bin', 'openclaw.js'), 'gateway', '--config', configPath, '--port', '0', '--bind', '127.0.0.1'];
  const heaptrackFile = options.heaptrack ? join(outDir, `heaptrack-${name}`) : undefined;
  const [command, ...rest] = heaptrackFile ? ['heaptrack', '-o', heaptrackFile, process.execPath, ...args] : [process.execPath, ...args];
  const child = spawn(command, rest, { stdio: ['ignore', 'ignore', 'pipe'], env: { ...process.env, OPENCLAW_STATE_DIR: join(dir, 'state'), BENCH_MEMORY_PROBE_FILE: probeFile } });
  children.add(child);
  const url = (await waitForLine(child, 'stderr', /listening on (\S+)/))[1];
  const pid = heaptrackFile ? findNode(configPath) : child.pid!;
  const first = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: body(false) });
  await first.text();
  log(`${name}: gateway pid ${pid} at ${url}${heaptrackFile ? ' (under heaptrack)' : ''}`);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    pid,
    child,
    url,
    stateDir: join(dir, 'state'),
    probeFile,
    snapshotDir,
    heaptrackFile,
    async stop() {
      process.kill(pid, 'SIGTERM');
      await exited;
    },
  };
}

/** The node process running this config (heaptrack starts it as a child of its script). */
function findNode(configPath: string): number {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(configPath) && readlinkSync(`/proc/${entry}/exe`) === process.execPath) return Number(entry);
    } catch {
      // gone meanwhile
    }
  }
  throw new Error(`no node process for ${configPath}`);
}

/** heaptrack's own summary: the live malloc total at its peak, and the biggest consumers then. */
function heaptrackSummary(file: string): string {
  const data = readdirSync(dirname(file)).find((entry) => entry.startsWith(`${file.slice(dirname(file).length + 1)}.`));
  if (!data) return '(no heaptrack data)';
  const printed = spawnSync('heaptrack_print', ['-f', join(dirname(file), data), '--print-peaks', '1', '--print-allocators', '0', '--print-temporary', '0', '--print-leaks', '0', '--peak-limit', '12', '--sub-peak-limit', '0'], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  const lines = printed.stdout.split('\n');
  const peaks = lines.filter((line) => line && !line.startsWith(' ') && !/^(reading|Debuggee|finished|PEAK|total runtime|calls to|temporary|suppressed)/.test(line));
  const rows: string[] = [];
  for (let i = 0; i + 1 < peaks.length; i++) {
    const match = /^([\d.]+[KMG]?) peak memory consumed over (\d+) calls from$/.exec(peaks[i]);
    if (match) rows.push(`| ${peaks[i + 1].replace(/\|/g, '\\|').slice(0, 110)} | ${match[1]}B | ${match[2]} |`);
  }
  const totals = peaks.filter((line) => /^(peak heap memory consumption|peak RSS|total memory leaked)/.test(line));
  return [`heaptrack (${data}): ${totals.join('; ')}`, '', '| allocated from (innermost frame) | live at the peak | calls |', '|---|---:|---:|', ...rows].join('\n');
}

const body = (stream: boolean, user?: string) => JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'Say something short.' }], ...(stream ? { stream: true } : {}), ...(user ? { user } : {}) });

async function probe(gw: Gateway, reset = false): Promise<{ latest: Sample; peak: Sample }> {
  const before = existsSync(gw.probeFile) ? readFileSync(gw.probeFile, 'utf8') : '';
  // Wait for a write newer than the call (the probe writes every 250 ms).
  for (let i = 0; i < 40; i++) {
    await sleep(100);
    const now = existsSync(gw.probeFile) ? readFileSync(gw.probeFile, 'utf8') : '';
    if (now && now !== before) {
      if (reset) writeFileSync(`${gw.probeFile}.reset`, '1');
      return JSON.parse(now);
    }
  }
  throw new Error('the memory probe wrote nothing');
}

/** Rss of the process's mappings, grouped: the node binary, other files, brk heap, anonymous, stacks. */
function smaps(pid: number): Record<string, number> {
  const groups: Record<string, number> = {};
  let current = '';
  for (const line of readFileSync(`/proc/${pid}/smaps`, 'utf8').split('\n')) {
    const mapping = /^[0-9a-f]+-[0-9a-f]+ \S+ \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (mapping) {
      const path = mapping[1];
      current = path === '' ? 'anonymous' : path === '[heap]' ? 'brk heap (malloc)' : path.startsWith('[stack') ? 'stacks' : path.endsWith('/node') ? 'node binary' : path.startsWith('/') ? 'other files' : path;
      continue;
    }
    const rss = /^Rss:\s+(\d+) kB/.exec(line);
    if (rss) groups[current] = (groups[current] ?? 0) + Number(rss[1]) * 1024;
  }
  return groups;
}

async function snapshot(gw: Gateway, name: string): Promise<HeapSummary | undefined> {
  if (!SNAPSHOTS) return undefined;
  const before = new Set(readdirSync(gw.snapshotDir));
  process.kill(gw.pid, 'SIGUSR2');
  for (let i = 0; i < 600; i++) {
    await sleep(100);
    const fresh = readdirSync(gw.snapshotDir).filter((file) => !before.has(file) && file.endsWith('.heapsnapshot'));
    if (fresh.length === 0) continue;
    const file = join(gw.snapshotDir, fresh[0]);
    // Written in one go; its size stops changing when done.
    let size = -1;
    for (;;) {
      const now = readFileSync(file).length;
      if (now === size && now > 0) break;
      size = now;
      await sleep(300);
    }
    const target = join(outDir, `${name}.heapsnapshot`);
    renameSync(file, target);
    log(`snapshot ${name}: ${(size / 1024 / 1024).toFixed(0)} MB file`);
    return summariseHeap(target);
  }
  throw new Error(`no heap snapshot for ${name}`);
}

async function openIdle(url: string, count: number, headers: Record<string, string>, upstream: { held(): Promise<number> }): Promise<() => void> {
  const requests: ReturnType<typeof request>[] = [];
  const payload = body(true);
  const one = () =>
    new Promise<void>((resolve) => {
      const req = request(`${url}/v1/chat/completions`, { method: 'POST', agent: false, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload), ...headers } }, (res) => {
        res.once('data', () => resolve());
        res.on('error', () => resolve());
      });
      req.on('error', () => resolve());
      req.end(payload);
      requests.push(req);
    });
  for (let i = 0; i < count; i += 100) await Promise.all(Array.from({ length: Math.min(100, count - i) }, one));
  for (let i = 0; i < 200 && (await upstream.held()) < count; i++) await sleep(50);
  return () => {
    for (const req of requests) req.destroy();
  };
}

const MB = (bytes: number | undefined) => (bytes === undefined || !Number.isFinite(bytes) ? 'n/a' : (bytes / 1024 / 1024).toFixed(1));
const FIGURES: Array<[string, string]> = [
  ['rss', 'RSS'],
  ['totalPhysical', 'V8 heap, physical (all spaces)'],
  ['heapUsed', 'V8 heap used'],
  ['new_space.size', '  new space (young generation) reserved'],
  ['new_space.physical', '  new space physical'],
  ['new_space.used', '  new space used'],
  ['old_space.physical', '  old space physical'],
  ['old_space.used', '  old space used'],
  ['code_space.physical', '  code space physical'],
  ['large_object_space.physical', '  large objects physical'],
  ['trusted_space.physical', '  trusted space physical'],
  ['external', 'external (C++ objects bound to JS, ArrayBuffers among them)'],
  ['arrayBuffers', '  of which ArrayBuffers (Buffers)'],
  ['mallocedMemory', 'V8 malloced (outside the heap)'],
];

/** The load cells, gateway only; `during` may take a snapshot in the middle of a cell. */
async function loadCells(gw: Gateway, cellNames: (name: string) => boolean, during?: (name: string) => Promise<void> | undefined) {
  let next = 0;
  const cells: Array<{ name: string; rps: number; peak: Sample; after: Sample; hwmMB: number }> = [];
  for (const stream of [false, true]) {
    for (const stateful of [false, true]) {
      for (const connections of CONNECTIONS) {
        const name = `${stream ? 'stream' : 'non-stream'} ${stateful ? 'stateful (20 turns)' : 'stateless'} c=${connections}`;
        if (!cellNames(name)) continue;
        await probe(gw, true);
        const midCell = sleep((CELL_SEC * 1000) / 2).then(() => during?.(name));
        const result = await autocannon({
          url: `${gw.url}/v1/chat/completions`,
          method: 'POST',
          headers: { 'content-type': 'application/json', authorization: `Bearer ${TOKEN}` },
          body: body(stream),
          connections,
          duration: CELL_SEC,
          ...(stateful
            ? {
                requests: [
                  {
                    setupRequest: (req: autocannon.RequestData) => {
                      req.body = body(stream, seededUser('turns20', next++ % SESSIONS));
                      return req;
                    },
                  },
                ],
              }
            : {}),
        });
        await midCell;
        const { peak, latest } = await probe(gw);
        const hwmMB = procStatus(gw.pid).hwmMB;
        cells.push({ name, rps: result['2xx'] / result.duration, peak, after: latest, hwmMB });
        log(`${name}: ${(result['2xx'] / result.duration).toFixed(0)} req/s; peak RSS in cell ${MB(peak.rss)} MB, new space ${MB(peak['new_space.size'])} MB, old used ${MB(peak['old_space.used'])} MB; VmHWM ${hwmMB.toFixed(0)} MB`);
      }
    }
  }
  return cells;
}

async function main() {
  const upstream = await startUpstream();
  const report: Record<string, unknown> = { date: startedAt.toISOString(), nodeArgs: NODE_ARGS, quick: QUICK };
  const out: string[] = [];

  // --- Load: the figures ---------------------------------------------------------------------
  const gw = await startGateway(upstream.url, 'load', { heaptrack: HEAPTRACK });
  await sleep(1_000);
  const ready = await probe(gw, true);
  const readySmaps = smaps(gw.pid);
  await seedSessions(gw.stateDir, { driver: 'sqlite' }, 'turns20', SESSIONS, 20);
  const cells = await loadCells(gw, () => true);
  const afterLoad = await probe(gw);
  const afterSmaps = smaps(gw.pid);
  const hwm = procStatus(gw.pid).hwmMB;
  await gw.stop();

  const peakOfAll: Sample = {};
  for (const cell of cells) for (const [key, value] of Object.entries(cell.peak)) peakOfAll[key] = Math.max(peakOfAll[key] ?? 0, value);

  out.push(`## Memory: where it goes (${startedAt.toISOString()}${NODE_ARGS.length ? `, node ${NODE_ARGS.join(' ')}` : ''}${HEAPTRACK ? ', under heaptrack' : ''})`);
  out.push('');
  out.push(`Gateway peak RSS (VmHWM) after the load cells: **${hwm.toFixed(1)} MB**. The probe samples every 50 ms; "peak" is each figure's own maximum, not one moment.`);
  out.push('');
  out.push('| MB | ready | peak during the load cells | after the load cells |');
  out.push('|---|---:|---:|---:|');
  for (const [key, label] of FIGURES) out.push(`| ${label} | ${MB(ready.latest[key])} | ${MB(peakOfAll[key])} | ${MB(afterLoad.latest[key])} |`);
  out.push('');
  out.push('Per cell (peaks within the cell; VmHWM after it):');
  out.push('');
  out.push('| cell | req/s | RSS peak | new space reserved peak | old space used peak | external peak | ArrayBuffers peak | VmHWM after |');
  out.push('|---|---:|---:|---:|---:|---:|---:|---:|');
  for (const cell of cells) out.push(`| ${cell.name} | ${cell.rps.toFixed(0)} | ${MB(cell.peak.rss)} | ${MB(cell.peak['new_space.size'])} | ${MB(cell.peak['old_space.used'])} | ${MB(cell.peak.external)} | ${MB(cell.peak.arrayBuffers)} | ${cell.hwmMB.toFixed(1)} |`);
  out.push('');
  out.push('Resident memory by mapping (/proc/<pid>/smaps, MB):');
  out.push('');
  out.push('| mapping | ready | after the load cells |');
  out.push('|---|---:|---:|');
  for (const key of new Set([...Object.keys(readySmaps), ...Object.keys(afterSmaps)])) if ((readySmaps[key] ?? 0) + (afterSmaps[key] ?? 0) >= 1024 * 1024) out.push(`| ${key} | ${MB(readySmaps[key])} | ${MB(afterSmaps[key])} |`);
  out.push('');
  if (gw.heaptrackFile) {
    out.push(heaptrackSummary(gw.heaptrackFile));
    out.push('');
  }

  // --- Idle streams: the figures -------------------------------------------------------------
  const fresh = await startGateway(upstream.url, 'idle', { heaptrack: HEAPTRACK });
  await upstream.configure({ mode: 'hold' });
  await sleep(1_000);
  const idleBefore = await probe(fresh, true);
  const idleBeforeSmaps = smaps(fresh.pid);
  const idleBeforeRss = procStatus(fresh.pid).rssMB;
  const close = await openIdle(fresh.url, IDLE_STREAMS, { authorization: `Bearer ${TOKEN}` }, upstream);
  await sleep(1_000);
  const idleWith = await probe(fresh);
  const idleWithSmaps = smaps(fresh.pid);
  const idleWithRss = procStatus(fresh.pid).rssMB;
  close();
  await upstream.configure({ mode: 'normal' });
  await fresh.stop();

  out.push(`### ${IDLE_STREAMS} idle streams (fresh gateway)`);
  out.push('');
  out.push(`RSS ${idleBeforeRss.toFixed(1)} → ${idleWithRss.toFixed(1)} MB: ${(((idleWithRss - idleBeforeRss) * 1024) / IDLE_STREAMS).toFixed(1)} KB per stream.`);
  out.push('');
  out.push(`| MB | before | with ${IDLE_STREAMS} streams | per stream (KB) | peak while opening |`);
  out.push('|---|---:|---:|---:|---:|');
  for (const [key, label] of FIGURES) {
    out.push(`| ${label} | ${MB(idleBefore.latest[key])} | ${MB(idleWith.latest[key])} | ${(((idleWith.latest[key] ?? 0) - (idleBefore.latest[key] ?? 0)) / 1024 / IDLE_STREAMS).toFixed(1)} | ${MB(idleWith.peak[key])} |`);
  }
  out.push('');
  out.push('| mapping | before | with streams |');
  out.push('|---|---:|---:|');
  for (const key of new Set([...Object.keys(idleBeforeSmaps), ...Object.keys(idleWithSmaps)])) if ((idleBeforeSmaps[key] ?? 0) + (idleWithSmaps[key] ?? 0) >= 1024 * 1024) out.push(`| ${key} | ${MB(idleBeforeSmaps[key])} | ${MB(idleWithSmaps[key])} |`);
  out.push('');
  if (fresh.heaptrackFile) {
    out.push(heaptrackSummary(fresh.heaptrackFile));
    out.push('');
  }

  // --- Heap snapshots, on gateways of their own ----------------------------------------------
  if (SNAPSHOTS) {
    const snap = await startGateway(upstream.url, 'snapshots');
    await sleep(1_000);
    const readySnap = (await snapshot(snap, 'ready'))!;
    await seedSessions(snap.stateDir, { driver: 'sqlite' }, 'turns20', SESSIONS, 20);
    const midCell: Record<string, HeapSummary | undefined> = {};
    const wanted = (name: string) => / c=64$/.test(name) && (name.startsWith('non-stream stateful') || name.startsWith('stream stateless'));
    await loadCells(snap, wanted, async (name) => {
      midCell[name] = await snapshot(snap, `during-${name.replace(/[^a-z0-9]+/gi, '-')}`);
    });
    const afterSnap = (await snapshot(snap, 'after-load'))!;
    await snap.stop();
    out.push('### Live V8 heap by constructor (heap snapshots, on gateways of their own)');
    out.push('');
    out.push(`At ready (${MB(readySnap.totalBytes)} MB self size):`);
    out.push('');
    out.push(formatGroups([...readySnap.groups.values()], { top: 15, total: readySnap.totalBytes }));
    out.push('');
    for (const [name, summary] of Object.entries(midCell)) {
      if (!summary) continue;
      out.push(`In the middle of ${name}, minus at ready (${MB(summary.totalBytes)} MB − ${MB(readySnap.totalBytes)} MB):`);
      out.push('');
      out.push(formatGroups(diffHeaps(readySnap, summary), { top: 20 }));
      out.push('');
    }
    out.push(`After the load cells, minus at ready (${MB(afterSnap.totalBytes)} MB − ${MB(readySnap.totalBytes)} MB):`);
    out.push('');
    out.push(formatGroups(diffHeaps(readySnap, afterSnap), { top: 10 }));
    out.push('');

    const idleSnap = await startGateway(upstream.url, 'idle-snapshots');
    await upstream.configure({ mode: 'hold' });
    await sleep(1_000);
    const idleBeforeSnap = (await snapshot(idleSnap, 'idle-before'))!;
    const closeSnapped = await openIdle(idleSnap.url, IDLE_STREAMS, { authorization: `Bearer ${TOKEN}` }, upstream);
    await sleep(1_000);
    const idleWithSnap = (await snapshot(idleSnap, 'idle-with'))!;
    closeSnapped();
    await idleSnap.stop();
    out.push(`Live heap per idle stream (snapshot with ${IDLE_STREAMS} streams − before, ÷ ${IDLE_STREAMS}; ${((idleWithSnap.totalBytes - idleBeforeSnap.totalBytes) / IDLE_STREAMS / 1024).toFixed(1)} KB per stream in all):`);
    out.push('');
    out.push(formatGroups(diffHeaps(idleBeforeSnap, idleWithSnap), { top: 30, per: IDLE_STREAMS }));
    out.push('');
  }
  upstream.child.kill('SIGTERM');

  Object.assign(report, { ready, afterLoad, peakOfAll, cells, hwmMB: hwm, readySmaps, afterSmaps, idle: { before: idleBefore, with: idleWith, beforeSmaps: idleBeforeSmaps, withSmaps: idleWithSmaps, rssBeforeMB: idleBeforeRss, rssWithMB: idleWithRss } });
  writeFileSync(join(outDir, 'memory.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(join(outDir, 'memory.md'), `${out.join('\n')}\n`);
  process.stdout.write(`${out.join('\n')}\n\n(${outDir.slice(ROOT.length + 1)})\n`);
}

main().then(
  () => process.exit(0),
  (error) => {
    process.stderr.write(`memory bench failed: ${(error as Error).stack}\n`);
    process.exit(1);
  },
);
