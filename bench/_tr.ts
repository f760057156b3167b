import { spawn } from 'node:child_process';
import autocannon from 'autocannon';
const start = (args: string[], nodeArgs: string[] = []) => new Promise<{ port: number; kill: () => void }>((resolve) => {
  const c = spawn(process.execPath, [...nodeArgs, ...args], { stdio: ['ignore', 'pipe', 'inherit', 'ipc'] });
  c.stdout!.once('data', (d) => resolve({ port: JSON.parse(String(d).split('\n')[0]).port, kill: () => c.kill('SIGTERM') }));
});
const up = await start(['bench/upstream.ts', '--port', '0']);
const px = await start(['bench/express-proxy.ts', '--upstream', `http://127.0.0.1:${up.port}`, ...process.argv.slice(2)], ['--import', '/tmp/vb/trace.mjs']);
const body = JSON.stringify({ model: 'openclaw', messages: [{ role: 'user', content: 'Say something short.' }] });
for (const d of [3, 8]) await autocannon({ url: `http://127.0.0.1:${px.port}/v1/chat/completions`, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: 1, duration: d });
px.kill(); up.kill();
await new Promise((r) => setTimeout(r, 500));
