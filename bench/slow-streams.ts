// Many concurrent slow streams, each on its own connection, every one checked for being delivered
// whole: HTTP 200, every content chunk the upstream sent (counted event by event), and
// `data: [DONE]`. Connections are opened in waves so the listen backlog never overflows, from
// several loopback source addresses (127.0.0.1–.8) so that no single address runs short of
// ephemeral ports. The upstream holds every stream after its role chunk (`gate` mode) until
// `onAllOpen` releases them, so all of them run at once, however long opening took.
import { Agent, request } from 'node:http';

export interface SlowStreamsOptions {
  url: string;
  headers: Record<string, string>;
  body: string;
  streams: number;
  /** Content chunks each stream must deliver (the upstream's chunk count). */
  expectedChunks: number;
  /** Streams opened at once; the next wave starts when this one has its response headers. */
  wave?: number;
  /** Called once every stream has its response headers (or failed); it releases the streams. */
  onAllOpen: () => Promise<void>;
  /** Give up on a stream that has not finished after this long. */
  timeoutMs: number;
}

export interface SlowStreamsResult {
  streams: number;
  /** 200, every content chunk, [DONE]. */
  whole: number;
  failedStatus: number;
  /** Ended without every chunk or without [DONE]. */
  incomplete: number;
  /** Failed on the socket (reset, timeout) before being whole. */
  errors: number;
  /** Most streams open at the same moment (response headers in, [DONE] not yet). */
  maxConcurrent: number;
  /** First request sent → every stream had its response headers. */
  rampMs: number;
  /** Released → the last stream ended. */
  totalMs: number;
  /** Per stream, released → [DONE]: p50, p99, max. */
  durationP50Ms: number;
  durationP99Ms: number;
  durationMaxMs: number;
  /** Fewest content chunks a failed stream got (NaN when none failed). */
  fewestChunks: number;
}

const CONTENT = /"content":"[^"]/;

export async function runSlowStreams(options: SlowStreamsOptions): Promise<SlowStreamsResult> {
  const wave = options.wave ?? 250;
  const target = new URL(options.url);
  const agents = Array.from({ length: 8 }, (_, i) => new Agent({ keepAlive: false, maxSockets: Infinity, localAddress: `127.0.0.${i + 1}` } as ConstructorParameters<typeof Agent>[0]));
  const bodyLength = Buffer.byteLength(options.body);
  let open = 0;
  let maxConcurrent = 0;
  let whole = 0;
  let failedStatus = 0;
  let incomplete = 0;
  let errors = 0;
  let fewestChunks = Infinity;
  /** When each whole stream saw [DONE]. */
  const doneAt: number[] = [];
  const started = performance.now();
  const ended: Promise<void>[] = [];

  const one = (index: number): { headers: Promise<void>; done: Promise<void> } => {
    let headersIn!: () => void;
    const headers = new Promise<void>((resolve) => (headersIn = resolve));
    const done = new Promise<void>((resolve) => {
      let chunks = 0;
      let sawDone = false;
      let counted = false;
      let settled = false;
      let pending = '';
      const finish = (kind: 'end' | 'error' | 'status') => {
        if (settled) return;
        settled = true;
        headersIn();
        if (counted) open--;
        const ok = kind !== 'status' && sawDone && chunks === options.expectedChunks;
        if (ok) {
          whole++;
          doneAt.push(performance.now());
        } else if (kind === 'status') failedStatus++;
        else {
          if (kind === 'error') errors++;
          else incomplete++;
          fewestChunks = Math.min(fewestChunks, chunks);
        }
        resolve();
      };
      const req = request(
        {
          host: target.hostname,
          port: target.port,
          path: `${target.pathname}`,
          method: 'POST',
          agent: agents[index % agents.length],
          headers: { 'content-type': 'application/json', 'content-length': bodyLength, ...options.headers },
          timeout: options.timeoutMs,
        },
        (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            return finish('status');
          }
          counted = true;
          open++;
          if (open > maxConcurrent) maxConcurrent = open;
          headersIn();
          res.setEncoding('utf8');
          res.on('data', (text: string) => {
            pending += text;
            let cut = pending.indexOf('\n\n');
            while (cut !== -1) {
              const event = pending.slice(0, cut);
              pending = pending.slice(cut + 2);
              if (event.startsWith('data: [DONE]')) sawDone = true;
              else if (CONTENT.test(event)) chunks++;
              cut = pending.indexOf('\n\n');
            }
          });
          res.on('end', () => finish('end'));
          res.on('error', () => finish('error'));
        },
      );
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', () => finish('error'));
      req.end(options.body);
    });
    return { headers, done };
  };

  for (let first = 0; first < options.streams; first += wave) {
    const batch = Array.from({ length: Math.min(wave, options.streams - first) }, (_, i) => one(first + i));
    for (const each of batch) ended.push(each.done);
    await Promise.all(batch.map((each) => each.headers));
  }
  const rampMs = performance.now() - started;
  await options.onAllOpen();
  const releasedAt = performance.now();
  await Promise.all(ended);
  const totalMs = performance.now() - releasedAt;
  for (const agent of agents) agent.destroy();
  const durations = doneAt.map((at) => at - releasedAt).sort((a, b) => a - b);
  const at = (p: number) => (durations.length ? durations[Math.min(durations.length - 1, Math.max(0, Math.ceil((p / 100) * durations.length) - 1))] : NaN);
  return {
    streams: options.streams,
    whole,
    failedStatus,
    incomplete,
    errors,
    maxConcurrent,
    rampMs,
    totalMs,
    durationP50Ms: at(50),
    durationP99Ms: at(99),
    durationMaxMs: durations.length ? durations[durations.length - 1] : NaN,
    fewestChunks: Number.isFinite(fewestChunks) ? fewestChunks : NaN,
  };
}
