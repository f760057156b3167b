import { spawn } from 'node:child_process';
import { Pool } from 'undici';
const up = spawn(process.execPath, ['bench/upstream.ts', '--port', '0'], { stdio: ['pipe', 'pipe', 'inherit'] });
const port = await new Promise<number>((r) => up.stdout!.once('data', (d) => r(JSON.parse(String(d).split('\n')[0]).port)));
const body = JSON.stringify({ model: 'bench', messages: [{ role: 'user', content: 'What time is it?' }] });
const pool = new Pool(`http://127.0.0.1:${port}`, { connections: 1 });
const opts = { path: '/v1/chat/completions', method: 'POST' as const, headers: { 'content-type': 'application/json', 'x-request-id': 'abc' }, body };
const viaRequest = async () => { const ac = new AbortController(); const r = await pool.request({ ...opts, signal: ac.signal }); return r.body.text(); };
const viaDispatch = () => new Promise<string>((resolve, reject) => {
  const parts: Buffer[] = []; let status = 0;
  pool.dispatch(opts, {
    onRequestStart() {}, onResponseStart(_c: unknown, s: number) { status = s; }, onResponseData(_c: unknown, c: Buffer) { parts.push(c); },
    onResponseEnd() { resolve(Buffer.concat(parts).toString('utf8')); }, onResponseError(_c: unknown, e: Error) { reject(e); },
  } as any);
});
async function measure(f: () => Promise<string>, n: number) { const c0 = process.cpuUsage(); const t0 = performance.now(); for (let i = 0; i < n; i++) await f(); const c = process.cpuUsage(c0); return { cpu: (c.user + c.system) / n, wall: (performance.now() - t0) * 1000 / n }; }
for (const f of [viaRequest, viaDispatch]) await measure(f, 3000);
for (let round = 0; round < 8; round++) {
  const a = await measure(viaRequest, 5000); const b = await measure(viaDispatch, 5000);
  console.log(`request: cpu ${a.cpu.toFixed(0)} wall ${a.wall.toFixed(0)} | dispatch: cpu ${b.cpu.toFixed(0)} wall ${b.wall.toFixed(0)}`);
}
up.kill(); await pool.close();
