import type { SessionStore } from './store.ts';

/** The embedded default session store for a state dir. */
export function openDefaultSessionStore(_stateDir: string): SessionStore | undefined {
  return undefined;
}
