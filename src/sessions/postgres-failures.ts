// How the PostgreSQL store tells what went wrong: a database it cannot reach as a failure the
// client may retry, a driver error by its code and message, and the database by a URL that never
// shows its password (it ends up in logs and in the operator's terminal).
import { SessionStoreUnavailableError } from './errors.ts';
import { isUnavailableError } from './sql-client.ts';

/** A database that cannot be reached is SessionStoreUnavailableError (503, retry); anything else stays what it is. */
export async function guardUnavailable<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (isUnavailableError(error)) throw new SessionStoreUnavailableError('postgres', error);
    throw error;
  }
}

export function describeDriverError(error: unknown): string {
  const e = error as { code?: string; message?: string };
  return [e.code, e.message].filter(Boolean).join(': ') || String(error);
}

/** `postgres://user:secret@host/db` → `postgres://user:***@host/db`. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return '(unparseable PostgreSQL URL)';
  }
}
