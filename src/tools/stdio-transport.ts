import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import type { JSONRPCMessage } from '@modelcontextprotocol/sdk/types.js';

const STDERR_TAIL_BYTES = 4096;
const SETPRIV = '/usr/bin/setpriv';
/** The longest message the child may send (the SDK's own stdio limit); a longer one is dropped. */
const MAX_MESSAGE_BYTES = 10 * 1024 * 1024;

export interface StdioServerParams {
  command: string;
  args: string[];
  /** The child's whole environment (the caller decides what goes in; nothing is inherited here). */
  env: Record<string, string>;
  cwd?: string;
}

/**
 * The stdio side of MCP for a child the gateway owns. Unlike the SDK's own stdio transport, which
 * adds some of the parent's variables to the child's environment, the child gets exactly `env`,
 * and it is made so that it cannot outlive the gateway:
 *  - it runs in a process group of its own, closed as a group (its own children with it);
 *  - on Linux it is started through setpriv with a parent-death signal, so even a gateway killed
 *    with SIGKILL takes it down (elsewhere the end of its stdin is the signal, as MCP specifies);
 *  - `killNow()` is what the gateway's exit hook calls, synchronously.
 * The last few KiB of its stderr are kept for the log when it fails.
 */
export class ChildStdioTransport implements Transport {
  onclose?: () => void;
  onerror?: (error: Error) => void;
  onmessage?: (message: JSONRPCMessage) => void;

  private child: ChildProcess | undefined;
  private readonly lines = new LineReader(MAX_MESSAGE_BYTES);
  private stderr = '';
  private exited = false;
  private readonly params: StdioServerParams;

  constructor(params: StdioServerParams) {
    this.params = params;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** The end of what the child wrote to stderr (at most 4 KiB). */
  stderrTail(): string {
    return this.stderr;
  }

  async start(): Promise<void> {
    const { command, args, env, cwd } = this.params;
    const [file, argv] = process.platform === 'linux' && existsSync(SETPRIV) ? [SETPRIV, ['--pdeathsig', 'SIGTERM', '--', command, ...args]] : [command, args];
    return new Promise((resolve, reject) => {
      const child = spawn(file, argv, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true, windowsHide: true });
      this.child = child;
      child.once('error', (error) => {
        reject(error);
        this.onerror?.(error);
      });
      child.once('spawn', () => resolve());
      child.once('close', () => {
        this.exited = true;
        this.onclose?.();
      });
      child.stdin!.on('error', (error) => this.onerror?.(error));
      child.stdout!.on('data', (chunk: Buffer) => this.lines.push(chunk, this.onLine, this.onTooLong));
      child.stderr!.on('data', (chunk: Buffer) => {
        this.stderr = (this.stderr + chunk.toString('utf8')).slice(-STDERR_TAIL_BYTES);
      });
    });
  }

  send(message: JSONRPCMessage): Promise<void> {
    return new Promise((resolve, reject) => {
      const stdin = this.child?.stdin;
      if (!stdin || this.exited || stdin.destroyed) return reject(new Error('the server process is not running'));
      if (stdin.write(`${JSON.stringify(message)}\n`)) resolve();
      else stdin.once('drain', () => resolve());
    });
  }

  /**
   * One line from the child: a JSON object is passed on as it is. The SDK's client checks every
   * message against the JSON-RPC shapes before it acts on one (and reports one that fits none), so
   * it is not parsed against them here a second time.
   */
  private readonly onLine = (line: string): void => {
    let message: unknown;
    try {
      message = JSON.parse(line);
    } catch (error) {
      this.onerror?.(new Error(`the server wrote a line that is not JSON: ${(error as Error).message}`));
      return;
    }
    if (typeof message !== 'object' || message === null || Array.isArray(message)) {
      this.onerror?.(new Error('the server wrote a line that is not a JSON-RPC message'));
      return;
    }
    try {
      this.onmessage?.(message as JSONRPCMessage);
    } catch (error) {
      this.onerror?.(error as Error);
    }
  };

  private readonly onTooLong = (bytes: number): void => {
    this.onerror?.(new Error(`the server wrote a message of ${bytes} bytes, more than ${MAX_MESSAGE_BYTES}; it was dropped`));
  };

  /** Closes stdin (MCP's way of asking a stdio server to stop), then SIGTERM, then SIGKILL, to the whole group. */
  async close(): Promise<void> {
    const child = this.child;
    if (!child || this.exited) return;
    const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
    const within = (ms: number) => Promise.race([closed.then(() => true), new Promise<boolean>((resolve) => setTimeout(resolve, ms, false).unref())]);
    child.stdin?.end();
    if (await within(2_000)) return;
    this.signalGroup('SIGTERM');
    if (await within(2_000)) return;
    this.signalGroup('SIGKILL');
    await within(1_000);
  }

  /** Synchronous, for process exit: the group gets SIGTERM and nothing is awaited. */
  killNow(): void {
    if (!this.exited) this.signalGroup('SIGTERM');
  }

  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    try {
      process.kill(-pid, signal);
    } catch {
      try {
        this.child?.kill(signal);
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Newline-delimited messages out of a byte stream. A line that ends in the chunk it began in (the
 * usual case) is decoded from that chunk, without copying; only a line split across chunks is
 * gathered. A line longer than `maxBytes` is skipped to its end and reported, never kept whole.
 */
class LineReader {
  private readonly maxBytes: number;
  private pending: Buffer[] = [];
  private pendingBytes = 0;
  private skipping = false;

  constructor(maxBytes: number) {
    this.maxBytes = maxBytes;
  }

  push(chunk: Buffer, line: (text: string) => void, tooLong: (bytes: number) => void): void {
    let start = 0;
    for (let end = chunk.indexOf(0x0a); end !== -1; end = chunk.indexOf(0x0a, start)) {
      const bytes = this.pendingBytes + end - start;
      if (this.skipping || bytes > this.maxBytes) tooLong(bytes);
      else if (this.pending.length === 0) line(chunk.toString('utf8', start, end));
      else line(Buffer.concat([...this.pending, chunk.subarray(start, end)], bytes).toString('utf8'));
      this.pending = [];
      this.pendingBytes = 0;
      this.skipping = false;
      start = end + 1;
    }
    if (start === chunk.length) return;
    this.pendingBytes += chunk.length - start;
    if (this.skipping) return;
    if (this.pendingBytes > this.maxBytes) {
      this.skipping = true;
      this.pending = [];
      return;
    }
    this.pending.push(start === 0 ? chunk : chunk.subarray(start));
  }
}
