import { randomUUID } from 'node:crypto';
import type { CreateChatCompletionRequest } from '../../generated/index.ts';
import { GatewayError } from '../errors.ts';
import type { ChatMessage } from '../records/chat-completions.ts';
import { prepareRun } from '../runs/prepare.ts';
import { runAgent } from '../runs/run.ts';
import type { Runtime } from '../runtime.ts';
import { chatRunFields } from '../wire/chat-completions/request.ts';
import { completionUsage, toolStepEvent } from '../wire/chat-completions/render.ts';
import type { EventFrame, RequestFrame } from './frames.ts';

type RunParams = {
  agent?: string;
  model?: string;
  message?: string;
  messages?: ChatMessage[];
  sessionKey?: string;
  user?: string;
} & Record<string, unknown>;

export interface SocketRun {
  runtime: Runtime;
  frame: RequestFrame;
  signal: AbortSignal;
  /** The run was prepared and has an id (agent.abort can name it now). */
  started(runId: string): void;
  event(name: EventFrame['event'], payload: Record<string, unknown>): void;
  reply(error: GatewayError | undefined, result: unknown, requestId?: string): void;
  log(fields: Record<string, unknown>): void;
}

/**
 * `agent.run` over the socket: the frame's params as a run request (the frame's own field names
 * in errors: `params.agent`, `params.sessionKey`, `params.messages`…), then the run's events as
 * `agent.*` event frames, then one response frame with the result or the error.
 */
export async function runOverSocket(socket: SocketRun): Promise<void> {
  const params = socket.frame.params as RunParams;
  const requestId = randomUUID();
  const single = params.messages === undefined;
  const messages: ChatMessage[] = params.messages ?? [{ role: 'user', content: params.message ?? '' }];
  const body = { ...params, model: params.model, messages } as unknown as CreateChatCompletionRequest;
  const generation = socket.runtime.current;
  const release = generation.retain();
  try {
    let prepared;
    try {
      prepared = prepareRun(generation, {
      requestId,
      transport: 'ws',
      fieldPrefix: 'params.',
      ...chatRunFields(body, { messagesParam: single ? 'message' : 'messages', fieldPrefix: 'params.' }),
      agent: params.agent !== undefined ? { value: params.agent, name: { label: 'params.agent', param: 'params.agent' } } : undefined,
      sessionKey: params.sessionKey !== undefined ? { value: params.sessionKey, name: { label: 'params.sessionKey', param: 'params.sessionKey' } } : undefined,
      });
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      socket.reply(error, undefined, requestId);
      return;
    }
    const { runId } = prepared;
    socket.started(runId);
    socket.event('agent.start', { runId, id: socket.frame.id, agentId: prepared.agent.id, sessionKey: prepared.sessionKey, requestId });
    for await (const event of runAgent(prepared, socket.runtime.runDeps(), socket.signal)) {
      switch (event.type) {
        case 'content':
        case 'refusal':
        case 'reasoning':
        case 'tool_call':
          socket.event('agent.delta', { runId, delta: event });
          break;
        case 'tool.started':
        case 'tool.finished':
          socket.event('agent.tool', { runId, ...toolStepEvent(event) });
          break;
        case 'run.finished': {
          const { result } = event;
          socket.log({ runId, requestId, agent: prepared.agent.id, outcome: 'ok' });
          socket.reply(undefined, {
            runId,
            requestId,
            agentId: prepared.agent.id,
            sessionKey: prepared.sessionKey,
            content: result.content,
            toolCalls: result.toolCalls.map((call) => ({ id: call.id, type: 'function', function: { name: call.name, arguments: call.arguments } })),
            finishReason: result.finishReason,
            usage: completionUsage(result.usage),
            model: result.model,
          });
          break;
        }
        case 'run.failed':
          socket.log({ runId, requestId, agent: prepared.agent.id, outcome: event.error.kind === 'aborted' ? 'aborted' : 'error', errorCode: event.error.code });
          socket.reply(event.error, undefined, requestId);
          break;
        default:
          break;
      }
    }
  } finally {
    release();
  }
}
