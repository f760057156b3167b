// What a run stores with its turn, finished or not: the turn's meta and the response it produced.
// The write itself stays in the run (src/runs/run.ts), which holds the lock and the position.
import type { GatewayError } from '../errors.ts';
import type { MessageRecord, TurnMeta, UsageRecord } from '../records/record.ts';
import type { StoredResponse } from '../sessions/store.ts';
import type { RunResult } from './events.ts';
import type { PreparedRun } from './prepare.ts';

/** The meta of a run that finished, stored together with its reply. */
export function finishedTurnMeta(prepared: PreparedRun, startedAt: number, result: RunResult): TurnMeta {
  return {
    requestId: prepared.requestId,
    responseId: prepared.response?.id,
    model: result.model,
    usage: result.usage,
    startedAt,
    finishedAt: Date.now(),
    outcome: turnOutcome(result),
    finishReason: result.finishReason,
  };
}

/** The meta of a run that did not finish: how it failed, and the usage of the calls it made until then. */
export function unfinishedTurnMeta(prepared: PreparedRun, startedAt: number, error: GatewayError, usage: UsageRecord | undefined): TurnMeta {
  return {
    requestId: prepared.requestId,
    responseId: prepared.response?.id,
    startedAt,
    finishedAt: Date.now(),
    outcome: error.kind === 'aborted' ? 'aborted' : 'failed',
    errorCode: error.code,
    errorMessage: error.message,
    usage,
  };
}

function turnOutcome(result: RunResult): TurnMeta['outcome'] {
  if (result.toolCalls.length > 0) return 'tool_calls';
  return result.finishReason === 'length' || result.finishReason === 'content_filter' ? 'incomplete' : 'completed';
}

/** The response the run produced (when its transport asked for one), as stored with its turn. */
export function storedResponse(prepared: PreparedRun, sessionKey: string, position: number, output: MessageRecord[], meta: TurnMeta): StoredResponse | undefined {
  if (!prepared.response) return undefined;
  return { ...prepared.response, agentId: prepared.agent.id, sessionKey, position, output, meta };
}
