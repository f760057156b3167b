// A minimal DevTools-protocol client for a gateway started with `--inspect=127.0.0.1:0`: the soak
// (bench/soak.ts) and the leak test (test/no-leak.test.ts) use it to force a full GC in the gateway
// and read what is left (heap usage, a heap snapshot, active handles), without a debug hook in
// src/. Only the Runtime and HeapProfiler methods are called; no domain is enabled (enabling the
// debugger would make the gateway keep async stack traces and change what is measured).
import WebSocket from 'ws';

/**
 * The inspector's WebSocket URL from a process's stderr ("Debugger listening on ws://…"): the last
 * one, since `openclaw gateway` replaces itself (execve) to add its node flags, and the inspector
 * the first image announced is gone with it.
 */
export function inspectorUrl(stderr: string): string | undefined {
  return [...stderr.matchAll(/Debugger listening on (ws:\/\/\S+)/g)].at(-1)?.[1];
}

export class Inspector {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (value: any) => void; reject: (error: Error) => void }>();
  private chunks: string[] | undefined;
  private readonly socket: WebSocket;

  private constructor(socket: WebSocket) {
    this.socket = socket;
    socket.on('message', (data) => {
      const message = JSON.parse(data.toString()) as { id?: number; result?: unknown; error?: { message: string }; method?: string; params?: { chunk?: string } };
      if (message.method === 'HeapProfiler.addHeapSnapshotChunk') {
        this.chunks?.push(message.params!.chunk!);
        return;
      }
      if (message.id === undefined) return;
      const waiter = this.pending.get(message.id);
      this.pending.delete(message.id);
      if (message.error) waiter?.reject(new Error(`inspector: ${message.error.message}`));
      else waiter?.resolve(message.result);
    });
    socket.on('close', () => {
      for (const waiter of this.pending.values()) waiter.reject(new Error('inspector connection closed'));
      this.pending.clear();
    });
  }

  static connect(url: string): Promise<Inspector> {
    return new Promise((resolve, reject) => {
      // No size cap: a heap snapshot arrives in chunks, but each is one message.
      const socket = new WebSocket(url, { maxPayload: 0, perMessageDeflate: false });
      socket.once('open', () => resolve(new Inspector(socket)));
      socket.once('error', reject);
    });
  }

  send<T = any>(method: string, params: Record<string, unknown> = {}): Promise<T> {
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.socket.send(JSON.stringify({ id, method, params }));
    });
  }

  /**
   * A full, compacting GC. Twice: objects with finalizers (FinalizationRegistry, weak callbacks of
   * native handles) are only freed by the collection after the one that found them unreachable.
   */
  async collectGarbage(): Promise<void> {
    await this.send('HeapProfiler.collectGarbage');
    await this.send('HeapProfiler.collectGarbage');
  }

  /** V8 heap in use and allocated, bytes (read right after collectGarbage: the live heap). */
  async heapUsage(): Promise<{ usedSize: number; totalSize: number }> {
    return this.send('Runtime.getHeapUsage');
  }

  /** A JSON expression evaluated in the process's main context (its globals: `process`…). */
  async evaluate<T>(expression: string): Promise<T> {
    const reply = await this.send<{ result: { value?: T }; exceptionDetails?: { text: string } }>('Runtime.evaluate', { expression, returnByValue: true });
    if (reply.exceptionDetails) throw new Error(`inspector evaluate: ${reply.exceptionDetails.text}`);
    return reply.result.value as T;
  }

  /** A heap snapshot as its JSON text (taking one runs a full GC first). */
  async heapSnapshot(): Promise<string> {
    this.chunks = [];
    try {
      await this.send('HeapProfiler.takeHeapSnapshot', { reportProgress: false, captureNumericValue: false });
      return this.chunks.join('');
    } finally {
      this.chunks = undefined;
    }
  }

  close(): void {
    this.socket.close();
  }
}
