// WAL checkpoints of the SQLite store on a thread of their own. A checkpoint copies the pages the
// write-ahead log gathered into the database file and syncs both files: with SQLite's automatic
// checkpoints that runs inside whichever commit crosses the threshold, on the event loop, and on
// this machine's disk it held the loop for tens of milliseconds every few hundred runs. Here the
// commits only append to the log; a worker thread with its own connection to the same file runs
// passive checkpoints (which never block a writer) every so many commits. The thread (a V8 isolate
// of its own, ≈ 5–10 MB resident) starts with the first checkpoint there is to do, not when the
// store opens: a gateway that serves no stateful request never pays for it.
import { Worker } from 'node:worker_threads';
import type { DatabaseSync } from 'node:sqlite';

// Evaluated source (CommonJS): the worker needs no file of its own, whichever way the gateway runs.
const SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const { DatabaseSync } = require('node:sqlite');
const db = new DatabaseSync(workerData.file, { timeout: workerData.busyTimeoutMs });
db.exec('PRAGMA synchronous = ' + workerData.synchronous);
const checkpoint = db.prepare('PRAGMA wal_checkpoint(PASSIVE)');
parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    parentPort.close();
    return;
  }
  try {
    checkpoint.get();
    parentPort.postMessage('done');
  } catch (error) {
    parentPort.postMessage('failed: ' + error.message);
  }
});
`;

/** Commits between two checkpoint requests: the log stays a few hundred pages long at most. */
const COMMITS_PER_CHECKPOINT = 32;
/** The main connection's own automatic checkpoint, kept as a backstop should the worker fall behind or fail. */
const BACKSTOP_PAGES = 10_000;

export class SqliteCheckpointer {
  private worker: Worker | undefined;
  private exited: Promise<void> = Promise.resolve();
  private readonly db: DatabaseSync;
  private readonly workerData: { file: string; busyTimeoutMs: number; synchronous: 'NORMAL' | 'FULL' };
  private commits = 0;
  private pending = false;
  private failed = false;
  private closed = false;

  constructor(db: DatabaseSync, file: string, options: { busyTimeoutMs: number; synchronous: 'NORMAL' | 'FULL' }) {
    this.db = db;
    this.workerData = { file, busyTimeoutMs: options.busyTimeoutMs, synchronous: options.synchronous };
    db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  }

  /** Called after each write transaction of the main connection. */
  committed(): void {
    if (this.failed || this.closed || ++this.commits < COMMITS_PER_CHECKPOINT || this.pending) return;
    this.commits = 0;
    this.pending = true;
    this.start().postMessage('checkpoint');
  }

  async close(): Promise<void> {
    this.closed = true;
    const worker = this.worker;
    if (!worker) return;
    // Unreferenced while it runs (it must not keep a finished process alive), but its exit is
    // awaited here: referenced again, or a process with nothing else left would end mid-await.
    worker.ref();
    if (!this.failed) worker.postMessage('close');
    await this.exited;
  }

  private start(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(SOURCE, { eval: true, workerData: this.workerData, resourceLimits: { maxOldGenerationSizeMb: 16 } });
    worker.on('message', (message: string) => {
      this.pending = false;
      if (message !== 'done') this.fallBack();
    });
    worker.on('error', () => this.fallBack());
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    // Last: adding a 'message' listener references a worker again, and an idle checkpointer must
    // never keep a process alive.
    worker.unref();
    this.worker = worker;
    return worker;
  }

  /** The worker cannot checkpoint: the main connection checkpoints on its own again, as SQLite does by default. */
  private fallBack(): void {
    if (this.failed) return;
    this.failed = true;
    try {
      this.db.exec('PRAGMA wal_autocheckpoint = 1000');
    } catch {
      // closed meanwhile
    }
    void this.worker?.terminate();
  }
}
