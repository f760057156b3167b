// How `openclaw sessions list` and `show` print for a terminal: a transcript message by message,
// each turn headed by its meta and the response it produced, and lists as aligned columns.
import { contentText, type MessageRecord, type TurnMeta } from '../records/record.ts';
import type { SessionStore, StoredTurn } from '../sessions/store.ts';

interface ResponseMark {
  id: string;
  /** False once deleted (DELETE /v1/responses/{id}); the turn stays in the transcript. */
  stored: boolean;
  previousResponseId?: string | null;
}

/** The Responses API responses the turns produced, and whether each is still stored. */
export async function storedResponses(store: SessionStore, turns: StoredTurn[]): Promise<Map<string, ResponseMark>> {
  const marks = new Map<string, ResponseMark>();
  for (const turn of turns) {
    const id = turn.meta.responseId;
    if (!id) continue;
    const stored = await store.getResponse(id);
    marks.set(id, stored ? { id, stored: true, previousResponseId: stored.previousResponseId } : { id, stored: false });
  }
  return marks;
}

export function describeResponse(mark: ResponseMark): string {
  if (!mark.stored) return `response ${mark.id} (deleted)`;
  return mark.previousResponseId ? `response ${mark.id}, continuing ${mark.previousResponseId}` : `response ${mark.id}`;
}

export function describeTurnMeta(meta: TurnMeta): string {
  const parts: string[] = [];
  if (meta.finishedAt) parts.push(new Date(meta.finishedAt).toISOString());
  if (meta.model) parts.push(meta.model);
  if (meta.outcome && meta.outcome !== 'completed') parts.push(meta.errorCode ? `${meta.outcome}: ${meta.errorCode}` : meta.outcome);
  if (meta.usage?.totalTokens !== undefined) parts.push(`${meta.usage.totalTokens} tokens`);
  if (meta.requestId) parts.push(`request ${meta.requestId}`);
  return parts.length > 0 ? ` (${parts.join(', ')})` : '';
}

export function renderMessage(message: MessageRecord): string {
  const lines: string[] = [];
  const name = 'name' in message && message.name ? ` (${message.name})` : '';
  if (message.role === 'tool') lines.push(`[tool ${message.toolCallId}]${message.toolName ? ` ${message.toolName}` : ''}${message.isError ? ' (error)' : ''}`);
  else lines.push(`[${message.role}]${name}`);
  if (message.role === 'assistant' && message.reasoning?.text) lines.push(indent(`(reasoning) ${message.reasoning.text}`));
  const text = contentText(message.content);
  if (text) lines.push(indent(text));
  for (const part of message.content) if (part.type === 'image') lines.push(indent('<image>'));
  if (message.role === 'assistant' && message.toolCalls) {
    for (const call of message.toolCalls) lines.push(indent(`→ ${call.name}(${call.arguments}) [${call.id}${call.executor === 'server' ? ', run by the gateway' : ''}]`));
  }
  return lines.join('\n');
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((line) => `  ${line}`)
    .join('\n');
}

export function formatTable(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]))).join('  ');
  return `${[line(header), ...rows.map(line)].join('\n')}\n`;
}
