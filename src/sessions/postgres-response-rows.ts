// The `responses` table as the PostgreSQL store writes it: one column list drives both the
// parameters and the upsert, so a response stored on its own (`putResponse`) and one stored in its
// turn's append statement are the same row.

/** The `responses` columns, in the order `responseRow` gives them, with their SQL types. */
export const RESPONSE_COLUMNS = [
  { name: 'id', type: 'text' },
  { name: 'agent_id', type: 'text' },
  { name: 'session_key', type: 'text' },
  { name: 'position', type: 'integer' },
  { name: 'previous_response_id', type: 'text' },
  { name: 'created_at', type: 'bigint' },
  { name: 'input', type: 'text' },
  { name: 'output', type: 'text' },
  { name: 'meta', type: 'text' },
  { name: 'extra', type: 'text' },
] as const;

/** Stores a response from `rows` (a VALUES list or a SELECT), replacing one with its id. */
export function upsertResponse(rows: string): string {
  const columns = RESPONSE_COLUMNS.map((column) => column.name);
  return `INSERT INTO responses (${columns.join(', ')}) ${rows}
    ON CONFLICT (id) DO UPDATE SET ${columns.slice(1).map((column) => `${column} = EXCLUDED.${column}`).join(', ')}`;
}
