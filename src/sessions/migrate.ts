// `openclaw sessions migrate`: an embedded SQLite store copied into PostgreSQL, for an operator
// moving from one gateway process to several replicas. Each session is copied whole in one
// transaction (turns, meta, timestamps), so an interrupted migration leaves no half session, and a
// session PostgreSQL already has is never touched: running it again copies only what is missing.
import type { PostgresSessionStore } from './postgres-store.ts';
import type { SqliteSessionStore } from './sqlite-store.ts';

export interface MigrationReport {
  sessionsCopied: number;
  messagesCopied: number;
  /** Already in the target with the same number of messages (an earlier run copied them). */
  sessionsAlreadyThere: number;
  /** In the target with a different number of messages (used there since): kept as the target has them. */
  sessionsDiffering: Array<{ key: string; source: number; target: number }>;
  responsesCopied: number;
  responsesAlreadyThere: number;
}

export async function migrateSqliteToPostgres(from: SqliteSessionStore, to: PostgresSessionStore, onSession?: (key: string, copied: boolean) => void): Promise<MigrationReport> {
  const report: MigrationReport = { sessionsCopied: 0, messagesCopied: 0, sessionsAlreadyThere: 0, sessionsDiffering: [], responsesCopied: 0, responsesAlreadyThere: 0 };
  // Oldest first, so a target that is already serving sees the same order the source had.
  const sessions = (await from.listSessions()).reverse();
  for (const summary of sessions) {
    const turns = await from.listTurns(summary.key);
    if (await to.importSession(summary, turns)) {
      report.sessionsCopied++;
      report.messagesCopied += summary.messageCount;
      onSession?.(summary.key, true);
      continue;
    }
    const existing = await to.getSession(summary.key);
    if (existing && existing.messageCount !== summary.messageCount) {
      report.sessionsDiffering.push({ key: summary.key, source: summary.messageCount, target: existing.messageCount });
    } else {
      report.sessionsAlreadyThere++;
    }
    onSession?.(summary.key, false);
  }
  for (const id of await from.listResponseIds()) {
    const response = await from.getResponse(id);
    if (response && (await to.importResponse(response))) report.responsesCopied++;
    else report.responsesAlreadyThere++;
  }
  return report;
}
