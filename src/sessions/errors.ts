import { ConflictError, GatewayTimeoutError, InternalError, ServiceUnavailableError } from '../errors.ts';

/** Another run held the session for longer than this run was willing to wait. */
export class SessionBusyError extends GatewayTimeoutError {
  constructor(key: string, waitedMs: number) {
    super(`Session ${key} was busy with an earlier run for longer than the agent timeout (${Math.round(waitedMs / 1000)} s).`, { code: 'session_busy' });
  }
}

/** The transcript moved since the run loaded it (its lock lapsed and another run appended). */
export class SessionConflictError extends ConflictError {
  constructor(key: string, expected: number, actual: number) {
    super(`Session ${key} changed while this run was in progress (expected ${expected} stored messages, found ${actual}); the reply was not stored. Send the request again.`, {
      code: 'session_conflict',
    });
  }
}

/** A stored transcript the store cannot read back; only that session is affected. */
export class SessionCorruptError extends InternalError {
  readonly sessionKey: string;
  constructor(sessionKey: string, detail: string, cause?: unknown) {
    super(`Session ${sessionKey} cannot be loaded: ${detail}. Delete it (openclaw sessions delete) or restore it from a backup.`, { code: 'session_corrupt', cause });
    this.sessionKey = sessionKey;
  }
}

/** The store cannot be reached (a database down or restarting); the request may be retried. */
export class SessionStoreUnavailableError extends ServiceUnavailableError {
  constructor(driver: string, cause?: unknown) {
    super(`The session store (${driver}) is unreachable; try again shortly.`, { code: 'session_store_unavailable', cause, retryAfterSeconds: 1 });
  }
}
