// The Responses API's Response object, built one way for a run that just finished, a stored
// response read back and every snapshot a stream sends, so the three never disagree.
import { randomUUID } from 'node:crypto';
import type { OutputItem, Response, ResponseError, ResponseUsage } from '../../../generated/index.ts';
import type { GatewayError } from '../../errors.ts';
import type { TurnMeta, UsageRecord } from '../../records/record.ts';
import { outputItems } from '../../records/responses.ts';
import type { RunResult } from '../../runs/events.ts';
import type { StoredResponse } from '../../sessions/store.ts';
import type { ResponseShell } from './request.ts';

/** `resp_` and 32 hex digits: a UUID's randomness, from Node's cached batch (`randomBytes` per id cost 25 µs a request in the profile). */
export function newResponseId(): string {
  return `resp_${randomUUID().replaceAll('-', '')}`;
}

/** What changes over a response's life; the rest (`ResponseShell`) echoes the request. */
export interface ResponseState {
  status: Response['status'];
  output: OutputItem[];
  usage?: UsageRecord;
  error?: ResponseError;
  incompleteReason?: 'max_output_tokens' | 'content_filter';
  completedAt?: number | null;
}

export function responseObject(id: string, createdAt: number, shell: ResponseShell, state: ResponseState): Response {
  const response: Response = {
    id,
    object: 'response',
    created_at: createdAt,
    status: state.status,
    completed_at: state.completedAt ?? null,
    error: state.error ?? null,
    incomplete_details: state.incompleteReason ? { reason: state.incompleteReason } : null,
    ...shell,
    output: state.output,
  };
  const usage = responseUsage(state.usage);
  if (usage) response.usage = usage;
  return response;
}

/** Usage in the Responses shape: absent when the upstream reported none, details zero where it did not say. */
export function responseUsage(usage: UsageRecord | undefined): ResponseUsage | undefined {
  if (!usage || (usage.inputTokens === undefined && usage.outputTokens === undefined && usage.totalTokens === undefined)) return undefined;
  const input = usage.inputTokens ?? 0;
  const output = usage.outputTokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.cachedInputTokens ?? 0, cache_write_tokens: 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.totalTokens ?? input + output,
  };
}

/**
 * A failure as a Response's `error`: OpenAI's codes for this API are a closed list, so the
 * gateway's own code travels in the message.
 */
export function responseError(code: string, message: string, kind?: GatewayError['kind']): NonNullable<ResponseError> {
  let wire: NonNullable<ResponseError>['code'] = 'server_error';
  if (kind === 'rate_limited' || code.endsWith('rate_limited')) wire = 'rate_limit_exceeded';
  else if (code === 'invalid_image_url' || code === 'image_url_not_allowed') wire = 'invalid_image_url';
  else if (code === 'upstream_rejected') wire = 'invalid_prompt';
  return { code: wire, message: `${message} (${code})` };
}

export function incompleteReason(finishReason: string | undefined): ResponseState['incompleteReason'] {
  if (finishReason === 'length') return 'max_output_tokens';
  if (finishReason === 'content_filter') return 'content_filter';
  return undefined;
}

export const epochSeconds = (ms: number) => Math.floor(ms / 1000);

/** The Response for a finished run (non-streaming), its output built from the run's records. */
export function finishedResponse(id: string, createdAt: number, shell: ResponseShell, result: RunResult): Response {
  const reason = incompleteReason(result.finishReason);
  return responseObject(id, createdAt, shell, {
    status: reason ? 'incomplete' : 'completed',
    incompleteReason: reason,
    output: outputItems(id, result.messages, { incomplete: reason !== undefined }),
    usage: result.usage,
    completedAt: epochSeconds(Date.now()),
  });
}

/** A stored response as `GET /v1/responses/{id}` shows it. */
export function storedResponseObject(stored: StoredResponse): Response {
  const meta: TurnMeta = stored.meta;
  const reason = incompleteReason(meta.finishReason);
  const state: ResponseState = { status: 'completed', output: outputItems(stored.id, stored.output, { incomplete: reason !== undefined }), usage: meta.usage };
  switch (meta.outcome) {
    case 'failed':
      state.status = 'failed';
      state.error = responseError(meta.errorCode ?? 'internal_error', meta.errorMessage ?? 'The run failed.');
      break;
    case 'aborted':
      state.status = 'cancelled';
      break;
    default:
      if (reason) {
        state.status = 'incomplete';
        state.incompleteReason = reason;
      }
      state.completedAt = meta.finishedAt !== undefined ? epochSeconds(meta.finishedAt) : null;
  }
  return responseObject(stored.id, epochSeconds(stored.createdAt), stored.extra as ResponseShell, state);
}
