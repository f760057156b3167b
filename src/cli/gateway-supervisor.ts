import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import type { Logger } from 'pino';

// `openclaw gateway --workers N`: one supervisor process and N worker processes on one port
// (node:cluster; the supervisor accepts connections and hands them to the workers in turn). Each
// worker is a whole gateway: it loads and watches the config itself, opens the session store (the
// session lock is a lease row in the store, so it holds across the workers) and asks the
// supervisor for the auth lockout counters (ClusterAuthLimiter). The supervisor restarts a worker
// that dies, with backoff, and on SIGINT/SIGTERM tells every worker to drain and waits for them.

/** Messages between the supervisor and its workers (beside rate-limiter-flexible's own). */
export type SupervisorMessage = { openclaw: 'stop' };
export type WorkerMessage = { openclaw: 'listening'; url: string };

/** `--workers`: a positive integer, or `auto` (one per available core); undefined when malformed. */
export function parseWorkers(raw: string | undefined): number | undefined {
  if (raw === undefined || raw === '') return 1;
  if (raw === 'auto') return availableParallelism();
  if (!/^\d+$/.test(raw)) return undefined;
  const count = Number(raw);
  return count >= 1 && count <= 1024 ? count : undefined;
}

export function isWorkerProcess(): boolean {
  return cluster.isWorker;
}

/** This worker's number (1, 2, … in the order the supervisor forked them; a replacement gets a new one). */
export function workerId(): number | undefined {
  return cluster.worker?.id;
}

/** Tells the supervisor this worker is serving. */
export function reportListening(url: string): void {
  const message: WorkerMessage = { openclaw: 'listening', url };
  process.send?.(message);
}

/**
 * Ctrl-C reaches every process of the terminal's group; the supervisor turns it into a stop of all
 * its workers, so a worker leaves SIGINT alone (from its first moment: it may still be starting).
 */
export function ignoreInterrupts(): void {
  process.on('SIGINT', () => undefined);
}

/** Calls `stop` when the supervisor says so, or on SIGTERM sent to this worker alone (it is replaced). */
export function onStopRequest(stop: (reason: string) => void): void {
  process.on('message', (message: SupervisorMessage | undefined) => {
    if (message?.openclaw === 'stop') stop('supervisor');
  });
  process.on('SIGTERM', () => stop('SIGTERM'));
}

/** Leaves the cluster once the gateway closed; exits if anything still holds the process after a moment. */
export function leaveCluster(code: number): void {
  process.exitCode = code;
  cluster.worker?.disconnect();
  setTimeout(() => process.exit(code), 1_000).unref();
}

interface Slot {
  index: number;
  worker: Worker;
  startedAt: number;
  listening: boolean;
  /** Consecutive early deaths, for the backoff. */
  failures: number;
  restartTimer?: NodeJS.Timeout;
}

const RESTART_BASE_MS = 250;
const RESTART_MAX_MS = 30_000;
/** A worker that lived this long before dying starts its backoff over. */
const STABLE_AFTER_MS = 60_000;
/** Beyond the workers' own grace, how long the supervisor waits before it kills what is left. */
const STOP_MARGIN_MS = 5_000;

export interface SupervisorOptions {
  workers: number;
  logger: Logger;
  /** The workers' drain time (gateway.http.shutdownGraceMs). */
  graceMs: number;
  configPath: string;
}

/** Runs the supervisor until it is stopped; resolves with the exit code. */
export async function superviseWorkers(options: SupervisorOptions): Promise<number> {
  const { logger, workers: count } = options;
  (await import('../auth/cluster-limiter.ts')).startClusterAuthLimiterHub();
  const slots: Slot[] = [];
  let servingUrl: string | undefined;
  let stopping = false;
  /** A worker failed to start, or had to be killed: the supervisor exits 1. */
  let unclean = false;

  return new Promise<number>((resolve) => {
    let stopTimer: NodeJS.Timeout | undefined;
    const finishIfAllGone = () => {
      if (!stopping || slots.some((slot) => !slot.worker.isDead())) return;
      clearTimeout(stopTimer);
      // A worker stopped before it listened may have had no handler for the signal yet.
      const clean = !unclean && slots.every((slot) => slot.worker.process.exitCode === 0 || (!slot.listening && slot.worker.process.signalCode === 'SIGTERM'));
      logger.info({ event: 'gateway.closed' }, 'all workers stopped');
      resolve(clean ? 0 : 1);
    };

    const fork = (index: number, failures: number) => {
      // Same arguments for a replacement: with the same address and port (even `--port 0`), the
      // cluster hands it the listening socket its siblings share.
      const worker = cluster.fork();
      const slot: Slot = { index, worker, startedAt: Date.now(), listening: false, failures };
      slots[index] = slot;
      logger.info({ event: 'worker.started', worker: worker.id, pid: worker.process.pid }, `worker ${worker.id} started (pid ${worker.process.pid})`);
      worker.on('message', (message: WorkerMessage | undefined) => {
        if (message?.openclaw !== 'listening') return;
        slot.listening = true;
        if (servingUrl || stopping) return;
        if (slots.length === count && slots.every((each) => each.listening)) {
          servingUrl = message.url;
          logger.info({ event: 'gateway.serving', url: servingUrl, workers: count }, `all ${count} workers listening`);
          process.stderr.write(`openclaw gateway listening on ${servingUrl} with ${count} workers (config: ${options.configPath})\n`);
        }
      });
      worker.on('exit', (code, signal) => {
        const livedMs = Date.now() - slot.startedAt;
        logger[stopping ? 'info' : 'warn']({ event: 'worker.exited', worker: worker.id, pid: worker.process.pid, code, signal, livedMs }, `worker ${worker.id} exited (${signal ?? `code ${code}`})`);
        if (stopping) return finishIfAllGone();
        if (!servingUrl && !slot.listening) {
          // It could not start (the port is taken, the config changed under us…): so would the others.
          unclean = true;
          process.stderr.write(`openclaw: worker ${worker.id} exited (${signal ?? `code ${code}`}) before it was listening; stopping\n`);
          return stop('worker start failed');
        }
        const streak = livedMs >= STABLE_AFTER_MS ? 0 : slot.failures + 1;
        const delayMs = Math.min(RESTART_MAX_MS, RESTART_BASE_MS * 2 ** Math.max(0, streak - 1));
        logger.warn({ event: 'worker.restarting', worker: worker.id, delayMs }, `starting a replacement for worker ${worker.id} in ${delayMs} ms`);
        slot.restartTimer = setTimeout(() => {
          if (!stopping) fork(index, streak);
        }, delayMs);
      });
    };

    const stop = (reason: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ event: 'gateway.stopping', reason }, 'stopping: workers finish their in-flight requests');
      for (const slot of slots) {
        clearTimeout(slot.restartTimer);
        if (slot.worker.isDead()) continue;
        // One still starting may not listen for messages yet; a signal reaches it either way (it
        // stops once listening, or at once if it has not got that far).
        if (slot.listening && slot.worker.isConnected()) slot.worker.send({ openclaw: 'stop' } satisfies SupervisorMessage);
        else slot.worker.process.kill('SIGTERM');
      }
      stopTimer = setTimeout(() => {
        for (const slot of slots) {
          if (slot.worker.isDead()) continue;
          logger.error({ event: 'worker.killed', worker: slot.worker.id }, `worker ${slot.worker.id} did not stop within the grace; killing it`);
          unclean = true;
          slot.worker.process.kill('SIGKILL');
        }
      }, options.graceMs + STOP_MARGIN_MS);
      finishIfAllGone();
    };

    const onSignal = (signal: NodeJS.Signals) => {
      if (stopping) {
        process.stderr.write('openclaw: second signal, exiting now\n');
        for (const slot of slots) slot.worker.process.kill('SIGKILL');
        process.exit(130);
      }
      stop(signal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);

    for (let index = 0; index < count; index++) fork(index, 0);
  });
}
