import type { GatewayError } from '../errors.ts';
import type { MessageRecord, ReasoningRecord, ToolCallRecord, UsageRecord } from '../records/record.ts';
import type { FinishReason, ProviderEvent } from '../providers/types.ts';

/** What a finished run produced. */
export interface RunResult {
  runId: string;
  agentId: string;
  sessionKey: string | null;
  /** `<provider>/<model>` that gave the final answer. */
  model: string;
  /** The final answer's text; null when it only called tools. */
  content: string | null;
  refusal: string | null;
  reasoning?: ReasoningRecord;
  /** Tool calls handed back to the client (`finish_reason: "tool_calls"`). */
  toolCalls: ToolCallRecord[];
  finishReason: FinishReason;
  /** Summed over every model call of the run; counts the upstream did not report are absent. */
  usage?: UsageRecord;
  /** The records the run added after the request's own turns (assistant messages, tool results). */
  messages: MessageRecord[];
}

/** How a server tool call ended. */
export type ToolOutcome =
  /** The tool answered. */
  | 'ok'
  /** The tool answered with `isError`. */
  | 'error'
  /** Its server failed the call, went away, or is down. */
  | 'failed'
  | 'timeout'
  /** The run was aborted while it ran: its server was sent the MCP cancellation. */
  | 'cancelled'
  /** The arguments were not JSON or did not fit the tool's input schema: not executed. */
  | 'invalid_arguments'
  /** A server tool the agent's policy does not allow: not executed. */
  | 'denied'
  /** No tool of that name (a model may invent one): not executed. */
  | 'unknown';

/**
 * The run as a stream: the only thing transports see. Deltas are the provider's own events,
 * passed on as they arrive (content, refusal, reasoning, tool_call); the rest marks the run's
 * progress. A run ends with exactly one `run.finished` or `run.failed`.
 */
export type RunEvent =
  | Exclude<ProviderEvent, { type: 'finish' }>
  /** The first model call was accepted (its response headers arrived, after retries and fallbacks): a streaming transport may commit to success now. */
  | { type: 'run.accepted'; runId: string; model: string }
  | { type: 'usage'; usage: UsageRecord }
  | { type: 'step.finished'; step: number; finishReason: FinishReason; model: string }
  /** The gateway starts one server tool call of a step (the calls of a step run in parallel). */
  | { type: 'tool.started'; step: number; callId: string; name: string; arguments: string }
  | { type: 'tool.finished'; step: number; callId: string; name: string; outcome: ToolOutcome; durationMs: number }
  | { type: 'run.finished'; result: RunResult }
  | { type: 'run.failed'; error: GatewayError; runId: string };

export type RunEventType = RunEvent['type'];
