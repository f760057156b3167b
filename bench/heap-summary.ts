// Summarises a V8 .heapsnapshot (from `--heapsnapshot-signal` or v8.writeHeapSnapshot) the way
// DevTools' "Summary" view groups it: live objects by constructor (objects, natives) or by kind
// (strings, code, closures, arrays, system), with count and self size; and the difference between
// two snapshots.
//
//   node bench/heap-summary.ts a.heapsnapshot [b.heapsnapshot] [--per N] [--top 30]
// One file: its summary. Two: b − a, optionally divided by N (e.g. per idle stream).
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

export interface Group {
  name: string;
  count: number;
  selfBytes: number;
}

export interface HeapSummary {
  totalBytes: number;
  nodes: number;
  groups: Map<string, Group>;
}

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export function summariseHeap(file: string): HeapSummary {
  return summariseSnapshot(readFileSync(file, 'utf8'));
}

/** The same from a snapshot's JSON text (as the inspector sends it). */
export function summariseSnapshot(text: string): HeapSummary {
  const snapshot = JSON.parse(text) as Snapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, Group>();
  let totalBytes = 0;
  const { nodes, strings } = snapshot;
  for (let i = 0; i < nodes.length; i += width) {
    const type = types[nodes[i + typeAt]];
    const size = nodes[i + sizeAt];
    totalBytes += size;
    let name: string;
    if (type === 'object' || type === 'native') name = strings[nodes[i + nameAt]] || `(anonymous ${type})`;
    else if (type === 'string' || type === 'concatenated string' || type === 'sliced string') name = '(string)';
    else if (type === 'array') name = `(array) ${strings[nodes[i + nameAt]]}`;
    else if (type === 'hidden' || type === 'object shape') name = `(system) ${strings[nodes[i + nameAt]].replace(/ \/ .*$/, '')}`;
    else name = `(${type})`;
    let group = groups.get(name);
    if (!group) groups.set(name, (group = { name, count: 0, selfBytes: 0 }));
    group.count++;
    group.selfBytes += size;
  }
  return { totalBytes, nodes: nodes.length / width, groups };
}

export function diffHeaps(before: HeapSummary, after: HeapSummary): Group[] {
  const names = new Set([...before.groups.keys(), ...after.groups.keys()]);
  return [...names].map((name) => {
    const a = before.groups.get(name);
    const b = after.groups.get(name);
    return { name, count: (b?.count ?? 0) - (a?.count ?? 0), selfBytes: (b?.selfBytes ?? 0) - (a?.selfBytes ?? 0) };
  });
}

export function formatGroups(groups: Group[], options: { top?: number; per?: number; total?: number } = {}): string {
  const per = options.per ?? 1;
  const top = [...groups].sort((a, b) => Math.abs(b.selfBytes) - Math.abs(a.selfBytes)).slice(0, options.top ?? 30);
  const lines = [`| constructor / kind | count${per > 1 ? ` ÷ ${per}` : ''} | self size${per > 1 ? ` ÷ ${per}` : ''} |${options.total ? ' share |' : ''}`, `|---|---:|---:|${options.total ? '---:|' : ''}`];
  for (const group of top) {
    const bytes = group.selfBytes / per;
    const size = Math.abs(bytes) >= 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : Math.abs(bytes) >= 1024 ? `${(bytes / 1024).toFixed(1)} KB` : `${bytes.toFixed(0)} B`;
    const count = per > 1 ? (group.count / per).toFixed(2) : String(group.count);
    lines.push(`| ${group.name.replace(/\|/g, '\\|').slice(0, 80)} | ${count} | ${size} |${options.total ? ` ${((group.selfBytes / options.total) * 100).toFixed(1)} % |` : ''}`);
  }
  return lines.join('\n');
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { per: { type: 'string' }, top: { type: 'string' } } });
  const top = Number(values.top ?? 30);
  if (positionals.length === 1) {
    const summary = summariseHeap(positionals[0]);
    process.stdout.write(`${(summary.totalBytes / 1024 / 1024).toFixed(1)} MB in ${summary.nodes} nodes\n\n${formatGroups([...summary.groups.values()], { top, total: summary.totalBytes })}\n`);
  } else {
    const [a, b] = positionals.map(summariseHeap);
    process.stdout.write(`${((b.totalBytes - a.totalBytes) / 1024 / 1024).toFixed(1)} MB more in ${b.nodes - a.nodes} more nodes\n\n${formatGroups(diffHeaps(a, b), { top, per: Number(values.per ?? 1) })}\n`);
  }
}
