// WAL checkpoints of the SQLite store on a thread of their own. A checkpoint copies the pages the
// write-ahead log gathered into the database file and syncs both files: with SQLite's automatic
// checkpoints that runs inside whichever commit crosses the threshold, on the event loop, and on
// this machine's disk it held the loop for tens of milliseconds every few hundred runs. Here the
// commits only append to the log; a worker thread with its own connection to the same file runs
// passive checkpoints (which never block a writer) every so many commits.
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
  private readonly worker: Worker;
  private readonly db: DatabaseSync;
  private commits = 0;
  private pending = false;
  private failed = false;
  private readonly exited: Promise<void>;

  constructor(db: DatabaseSync, file: string, options: { busyTimeoutMs: number; synchronous: 'NORMAL' | 'FULL' }) {
    this.db = db;
    this.worker = new Worker(SOURCE, { eval: true, workerData: { file, busyTimeoutMs: options.busyTimeoutMs, synchronous: options.synchronous }, resourceLimits: { maxOldGenerationSizeMb: 16 } });
    this.worker.on('message', (message: string) => {
      this.pending = false;
      if (message !== 'done') this.fallBack();
    });
    this.worker.on('error', () => this.fallBack());
    this.exited = new Promise((resolve) => this.worker.once('exit', () => resolve()));
    // Last: adding a 'message' listener references a worker again, and an idle checkpointer must
    // never keep a process alive.
    this.worker.unref();
    db.exec(`PRAGMA wal_autocheckpoint = ${BACKSTOP_PAGES}`);
  }

  /** Called after each write transaction of the main connection. */
  committed(): void {
    if (this.failed || ++this.commits < COMMITS_PER_CHECKPOINT || this.pending) return;
    this.commits = 0;
    this.pending = true;
    this.worker.postMessage('checkpoint');
  }

  async close(): Promise<void> {
    // Unreferenced while it runs (it must not keep a finished process alive), but its exit is
    // awaited here: referenced again, or a process with nothing else left would end mid-await.
    this.worker.ref();
    if (!this.failed) this.worker.postMessage('close');
    await this.exited;
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
    void this.worker.terminate();
  }
}
