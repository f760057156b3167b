import { NotFoundError } from '../errors.ts';
import type { MessageRecord } from '../records/record.ts';
import type { SessionLock, SessionStore } from '../sessions/store.ts';
import type { PreparedRun } from './prepare.ts';

/** The session a run works on, as it found it. */
export interface RunSession {
  /** Where the run's turn goes: the prepared key, or the branch it continues in. */
  key: string;
  /** Held while the run writes; absent for a run that only reads (`persist: false`). */
  lock?: SessionLock;
  /** The transcript length the run's turn is appended at. */
  position: number;
  /** The stored tail the model sees. */
  history: MessageRecord[];
}

/**
 * Takes the run's session. A run that writes holds the session's lock; one that only reads takes
 * no lock. A run that continues a stored response's point (`continueAt`) continues that session
 * only while the session still ends there (checked under the lock); once it has moved on, the
 * conversation as it stood is copied into a new session (`branchKey`) and the run continues
 * there, so an older response is continued exactly, never on top of what came after it.
 */
export async function openRunSession(
  store: SessionStore,
  prepared: PreparedRun,
  key: string,
  signal: AbortSignal,
  /** Told how long each wait for a session lock took, and whether it ended with the lock. */
  lockWaited?: (seconds: number, acquired: boolean) => void,
): Promise<RunSession> {
  const lastMessages = prepared.setup.config.sessions.maxHistoryMessages;
  const at = prepared.continueAt;
  if (!prepared.persist) {
    const transcript = await store.loadTranscript(key, { lastMessages, before: at?.position });
    return { key, position: transcript.position, history: transcript.messages };
  }
  /** The lock, then the transcript under it (the lock is let go again if the load fails). */
  const take = async (lockKey: string): Promise<RunSession> => {
    const started = performance.now();
    let lock: SessionLock | undefined;
    try {
      lock = await store.lockSession(lockKey, { timeoutMs: prepared.timeoutMs, signal });
    } finally {
      lockWaited?.((performance.now() - started) / 1000, lock !== undefined);
    }
    try {
      const transcript = await store.loadTranscript(lockKey, { lastMessages });
      return { key: lockKey, lock, position: transcript.position, history: transcript.messages };
    } catch (error) {
      await lock.release().catch(() => undefined);
      throw error;
    }
  };
  if (at) {
    const length = (await store.getSession(key))?.messageCount ?? 0;
    if (length < at.position) {
      throw new NotFoundError(`${at.name.label}: the conversation of that response is no longer stored.`, { param: at.name.param, code: 'previous_response_not_found' });
    }
    if (length === at.position) {
      const session = await take(key);
      if (session.position === at.position) return session;
      // Another run appended between the look and the lock: branch after all.
      await session.lock!.release();
    }
    await store.copyTranscript(key, at.branchKey, at.position);
    key = at.branchKey;
  }
  return take(key);
}
