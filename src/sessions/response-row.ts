import type { StoredResponse } from './store.ts';

/**
 * A stored response as the `responses` row both SQL stores write, in their column order: id,
 * agent_id, session_key, position, previous_response_id, created_at, then input, output, meta and
 * extra as JSON text.
 */
export type ResponseRow = [string, string, string, number, string | null, number, string, string, string, string];

export function responseRow(response: StoredResponse): ResponseRow {
  return [
    response.id,
    response.agentId,
    response.sessionKey,
    response.position,
    response.previousResponseId,
    response.createdAt,
    JSON.stringify(response.input),
    JSON.stringify(response.output),
    JSON.stringify(response.meta),
    JSON.stringify(response.extra),
  ];
}
