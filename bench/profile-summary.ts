// Summarises a V8 .cpuprofile (from `node --cpu-prof`): self time by function and by module, and
// inclusive time by module (a sample counts once for every module on its stack).
//
//   node bench/profile-summary.ts bench/results/profiles/gateway-non-stream-16c.cpuprofile
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
export interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

export interface Row {
  name: string;
  ms: number;
  pct: number;
}
export interface ProfileSummary {
  totalMs: number;
  busyMs: number;
  topFunctions: Row[];
  selfByModule: Row[];
  inclusiveByModule: Row[];
  /** Each sample charged to the nearest npm package or repo file on its stack (so `writev` under pino counts as pino). */
  attributed: Row[];
  /** `attributed`, grouped: express, validator, openai SDK, fetch, logging, gateway code… */
  byCategory: Row[];
}

const CATEGORIES: [RegExp, string][] = [
  [/^(express|router|body-parser|raw-body|path-to-regexp|finalhandler|send|serve-static|qs|content-type|type-is|on-finished|depd|http-errors|iconv-lite|statuses|media-typer|mime-types|mime-db|negotiator|accepts|cookie|parseurl|encodeurl|escape-html|vary|fresh|range-parser|proxy-addr|forwarded|etag|merge-descriptors|debug|ms|utils-merge|content-disposition|setprototypeof|toidentifier|unpipe|destroy|ee-first|bytes|methods|call-bound|get-intrinsic|side-channel.*|es-.*|function-bind|gopd|has-symbols|hasown|math-intrinsics|dunder-proto|call-bind-apply-helpers|object-inspect|is-promise|router)$/, 'express (+ deps)'],
  [/^(express-openapi-validator|ajv|ajv-formats|ajv-draft-04|json-schema-traverse|fast-deep-equal|fast-uri|@apidevtools\/.*|lodash.*|media-typer|multer|json-schema-ref-parser|@types\/.*)$/, 'validator (express-openapi-validator + ajv)'],
  [/^openai$/, 'openai SDK'],
  [/^wasm:|^(undici|node:undici \(fetch\)|node:internal\/webstreams)$/, 'fetch (undici, llhttp wasm) + web streams'],
  [/^(pino|@pinojs\/.*|sonic-boom|fast-redact|thread-stream|on-exit-leak-free|atomic-sleep|quick-format-unescaped|safe-stable-stringify|pino-std-serializers|real-require|process-warning)$/, 'logging (pino)'],
  [/^src\//, 'gateway code (src/)'],
  [/^\(garbage collector\)$/, 'GC'],
  [/^native:(parse|stringify)$/, 'JSON (native, not under a package)'],
  [/^node:internal\/modules$|^native:(evaluate|compileSourceTextModule)$/, 'module loading'],
];

export function categoryOf(module: string): string {
  if (module === '(idle)') return module;
  for (const [pattern, name] of CATEGORIES) if (pattern.test(module)) return name;
  if (module.startsWith('node:') || module.startsWith('native:') || module.startsWith('(')) return 'node core / V8 (no package on stack)';
  return `other: ${module}`;
}

const isOwned = (module: string) => !module.startsWith('node:') && !module.startsWith('native:') && !module.startsWith('(');

/** The module a frame belongs to: an npm package, a file of this repo, a node: internal area, or a V8 pseudo-frame. */
export function moduleOf(frame: CallFrame, root: string): string {
  const url = frame.url;
  if (!url) {
    if (frame.functionName.startsWith('(')) return frame.functionName; // (garbage collector), (idle), (program)
    return `native:${frame.functionName || 'anonymous'}`; // JSON.parse, JSON.stringify, RegExp…
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm !== -1) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) {
    const path = url.slice(5);
    if (path.startsWith('internal/deps/undici')) return 'node:undici (fetch)';
    const parts = path.split('/');
    return `node:${parts[0] === 'internal' ? parts.slice(0, 2).join('/') : parts[0]}`;
  }
  const file = url.replace(/^file:\/\//, '');
  return file.startsWith(root) ? file.slice(root.length + 1) : file;
}

/** `skipMs`: leave out the first milliseconds of the profile (process start-up and warm-up). */
export function summariseProfile(profile: CpuProfile, root: string, options: { top?: number; skipMs?: number; untilMs?: number } = {}): ProfileSummary {
  const top = options.top ?? 25;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parent.set(child, node.id);
  }
  const selfUs = new Map<number, number>();
  let elapsedUs = 0;
  const skipUs = (options.skipMs ?? 0) * 1000;
  const untilUs = (options.untilMs ?? Infinity) * 1000;
  profile.samples.forEach((id, i) => {
    elapsedUs += profile.timeDeltas[i] ?? 0;
    if (elapsedUs >= skipUs && elapsedUs < untilUs) selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  const totalUs = [...selfUs.values()].reduce((a, b) => a + b, 0);
  let idleUs = 0;

  const fnSelf = new Map<string, number>();
  const modSelf = new Map<string, number>();
  const modIncl = new Map<string, number>();
  const attributed = new Map<string, number>();
  const category = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const node = byId.get(id)!;
    const frame = node.callFrame;
    if (frame.functionName === '(idle)') idleUs += us;
    const mod = moduleOf(frame, root);
    const fn = `${frame.functionName || '(anonymous)'} ${frame.url ? `${mod}:${frame.lineNumber + 1}` : ''}`.trim();
    fnSelf.set(fn, (fnSelf.get(fn) ?? 0) + us);
    modSelf.set(mod, (modSelf.get(mod) ?? 0) + us);
    let owner = mod;
    if (!isOwned(mod) && !mod.startsWith('(')) {
      for (let cur = parent.get(id); cur !== undefined; cur = parent.get(cur)) {
        const m = moduleOf(byId.get(cur)!.callFrame, root);
        if (isOwned(m)) {
          owner = m;
          break;
        }
      }
    }
    attributed.set(owner, (attributed.get(owner) ?? 0) + us);
    const cat = categoryOf(owner);
    category.set(cat, (category.get(cat) ?? 0) + us);
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const m = moduleOf(byId.get(cur)!.callFrame, root);
      if (m === '(root)') continue;
      if (!seen.has(m)) {
        seen.add(m);
        modIncl.set(m, (modIncl.get(m) ?? 0) + us);
      }
    }
  }
  const busyUs = totalUs - idleUs;
  const rows = (map: Map<string, number>, n: number) =>
    [...map.entries()]
      .filter(([name]) => name !== '(idle)')
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, ms: us / 1000, pct: (100 * us) / Math.max(1, busyUs) }));
  return { totalMs: totalUs / 1000, busyMs: busyUs / 1000, topFunctions: rows(fnSelf, top), selfByModule: rows(modSelf, top), inclusiveByModule: rows(modIncl, top), attributed: rows(attributed, top), byCategory: rows(category, top) };
}

export function formatProfileSummary(summary: ProfileSummary, requests?: number): string {
  const perReq = (ms: number) => (requests ? ` | ${((ms * 1000) / requests).toFixed(1)}` : '');
  const head = requests ? ' | µs/request' : '';
  const sep = requests ? '|---:' : '';
  const table = (title: string, rows: Row[]) =>
    [`### ${title}`, '', `| | ms | % of busy${head} |`, `|---|---:|---:${sep}|`, ...rows.map((r) => `| \`${r.name}\` | ${r.ms.toFixed(0)} | ${r.pct.toFixed(1)}${perReq(r.ms)} |`)].join('\n');
  return [
    `Profile: ${summary.totalMs.toFixed(0)} ms sampled, ${summary.busyMs.toFixed(0)} ms busy (not idle)${requests ? `, ${((summary.busyMs * 1000) / requests).toFixed(0)} µs busy per request` : ''}.`,
    '',
    table('By area (each sample charged to the nearest package or src/ file on its stack)', summary.byCategory),
    '',
    table('By package / file, same attribution', summary.attributed.slice(0, 15)),
    '',
    table('Self time by module', summary.selfByModule.slice(0, 20)),
    '',
    table('Inclusive time by module (a sample counts for every module on its stack)', summary.inclusiveByModule.slice(0, 20)),
    '',
    table('Top functions by self time', summary.topFunctions.slice(0, 25)),
  ].join('\n');
}

if (import.meta.main) {
  const file = process.argv[2];
  if (!file) {
    process.stderr.write('usage: node bench/profile-summary.ts <file.cpuprofile> [requests|0] [skipMs] [untilMs]\n');
    process.exit(2);
  }
  const root = resolve(import.meta.dirname, '..');
  const requests = process.argv[3] && process.argv[3] !== '0' ? Number(process.argv[3]) : undefined;
  const skipMs = process.argv[4] ? Number(process.argv[4]) : 0;
  const untilMs = process.argv[5] ? Number(process.argv[5]) : undefined;
  process.stdout.write(`${formatProfileSummary(summariseProfile(JSON.parse(readFileSync(file, 'utf8')), root, { skipMs, untilMs }), requests)}\n`);
}
