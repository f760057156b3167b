// The parts of the run's tool loop that are not the loop itself (src/runs/run.ts): telling the
// client's tool calls from the gateway's while they stream, and executing one step's server calls.
import type { Logger } from 'pino';
import type { MessageRecord, ToolCallRecord } from '../records/record.ts';
import type { ProviderEvent } from '../providers/types.ts';
import { ToolCallError } from '../tools/manager.ts';
import { errorContent, toolResultContent } from '../tools/results.ts';
import type { RunEvent, ToolOutcome } from './events.ts';
import type { AfterDispatch } from './after-dispatch.ts';
import type { RunObserver } from './observer.ts';
import type { RunTools } from './run-tools.ts';

type ToolCallDelta = ProviderEvent & { type: 'tool_call' };

/**
 * Passes on the tool-call deltas of the client's own tools and holds back every other call's. A
 * call's deltas wait until its name is known (the upstream sends it first, with the arguments'
 * first piece or before them); a client call is then relayed with its index among the client's
 * calls, so the client sees 0, 1, … whatever the gateway's calls in between.
 */
export class ToolCallRelay {
  private readonly clientNames: ReadonlySet<string>;
  private readonly calls: Array<{ name: string; held: ToolCallDelta[]; clientIndex?: number; decided: boolean }> = [];
  private nextClientIndex = 0;
  private last = -1;

  constructor(clientNames: ReadonlySet<string>) {
    this.clientNames = clientNames;
  }

  /** The deltas to relay now (possibly none). */
  push(event: ToolCallDelta): ToolCallDelta[] {
    const out: ToolCallDelta[] = [];
    // Upstreams send calls one after another: a new index means the previous name is complete.
    if (event.index !== this.last && this.last !== -1) this.decide(this.last, out);
    this.last = event.index;
    let call = this.calls[event.index];
    if (!call) {
      call = { name: '', held: [], decided: false };
      this.calls[event.index] = call;
    }
    if (event.name) call.name += event.name;
    if (call.decided) {
      if (call.clientIndex !== undefined) out.push({ ...event, index: call.clientIndex });
      return out;
    }
    call.held.push(event);
    if (call.name !== '' && event.arguments !== undefined) this.decide(event.index, out);
    return out;
  }

  /** At the end of the reply: whatever was still held is decided. */
  finish(): ToolCallDelta[] {
    const out: ToolCallDelta[] = [];
    this.calls.forEach((_, index) => this.decide(index, out));
    return out;
  }

  private decide(index: number, out: ToolCallDelta[]): void {
    const call = this.calls[index];
    if (!call || call.decided) return;
    call.decided = true;
    if (this.clientNames.has(call.name)) {
      call.clientIndex = this.nextClientIndex++;
      for (const delta of call.held) out.push({ ...delta, index: call.clientIndex });
    }
    call.held = [];
  }
}

export interface ToolStepContext {
  step: number;
  tools: RunTools;
  signal: AbortSignal;
  logger: Logger;
  /** Writes the `tool.call` line (its fields are never secrets); the detail line with arguments and result goes through `logger`. */
  plainLogger: Logger;
  observer?: RunObserver;
  requestId: string;
  runId: string;
  /** Where the call's log line and metrics go: written once the run's next model call is on its way. */
  after: AfterDispatch;
}

interface Executed {
  call: ToolCallRecord;
  message: MessageRecord;
  outcome: ToolOutcome;
  durationMs: number;
}

/**
 * Runs the gateway's calls of one step, all at once, and yields `tool.started` for each, then
 * `tool.finished` as each ends. Returns their tool messages in the order of the calls. A call to
 * a tool the agent does not have, or with arguments that do not fit, is answered with an error
 * the model can read and never reaches a server.
 */
export async function* runToolStep(calls: ToolCallRecord[], context: ToolStepContext): AsyncGenerator<RunEvent, MessageRecord[], undefined> {
  const running = new Map<string, Promise<Executed>>();
  for (const call of calls) {
    yield { type: 'tool.started', step: context.step, callId: call.id, name: call.name, arguments: call.arguments };
    running.set(call.id, execute(call, context));
  }
  const results = new Map<string, MessageRecord>();
  while (running.size > 0) {
    const done = await Promise.race(running.values());
    running.delete(done.call.id);
    results.set(done.call.id, done.message);
    yield { type: 'tool.finished', step: context.step, callId: done.call.id, name: done.call.name, outcome: done.outcome, durationMs: done.durationMs };
  }
  return calls.map((call) => results.get(call.id)!);
}

async function execute(call: ToolCallRecord, context: ToolStepContext): Promise<Executed> {
  const started = performance.now();
  const { tools } = context;
  const tool = tools.offered.get(call.name);
  let outcome: ToolOutcome;
  let message: MessageRecord;
  const answer = (kind: ToolOutcome, text: string) => {
    outcome = kind;
    message = { role: 'tool', toolCallId: call.id, content: errorContent(text), isError: true, toolName: call.name };
  };
  if (!tool) {
    answer(tools.catalogue.has(call.name) ? 'denied' : 'unknown', `Error: there is no tool "${call.name}" available to you; use only the tools you were given.`);
  } else {
    let args: unknown;
    try {
      args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch (error) {
      args = undefined;
      answer('invalid_arguments', `Error: the arguments are not valid JSON (${(error as Error).message}); send a JSON object that fits the tool's input schema.`);
    }
    if (args !== undefined && (typeof args !== 'object' || args === null || Array.isArray(args))) {
      answer('invalid_arguments', "Error: the arguments must be a JSON object that fits the tool's input schema.");
    } else if (args !== undefined) {
      const mismatch = tools.source.checkArguments(tool, args);
      if (mismatch !== undefined) answer('invalid_arguments', `Error: the arguments do not fit the tool's input schema: ${mismatch}.`);
      else {
        try {
          const result = await tools.source.call(tool, args as Record<string, unknown>, { signal: context.signal, timeoutMs: tools.timeoutMs });
          const content = toolResultContent(result, tools.maxResultBytes);
          outcome = content.isError ? 'error' : 'ok';
          message = { role: 'tool', toolCallId: call.id, content: content.content, toolName: call.name };
          if (content.isError) message.isError = true;
        } catch (error) {
          const failure = error instanceof ToolCallError ? error : new ToolCallError('failed', (error as Error).message);
          answer(failure.kind === 'unavailable' ? 'failed' : failure.kind, `Error: ${failure.message}`);
        }
      }
    }
  }
  const durationMs = Math.round((performance.now() - started) * 1000) / 1000;
  // A denied tool is still named by its server and tool; one that no server has is not.
  const known = tool ?? tools.catalogue.get(call.name);
  const server = known?.server ?? '';
  const toolName = known?.tool ?? '';
  const result = message!;
  const ended = outcome!;
  context.after.add(() => {
    context.observer?.toolCalled?.({ server, tool: toolName, outcome: ended, seconds: durationMs / 1000 });
    const line = { event: 'tool.call', requestId: context.requestId, runId: context.runId, step: context.step, callId: call.id, name: call.name, server: server || undefined, tool: toolName || undefined, outcome: ended, durationMs };
    context.plainLogger.info(line, `tool ${call.name}: ${ended}`);
    if (context.logger.isLevelEnabled('debug')) context.logger.debug({ ...line, event: 'tool.call.detail', arguments: call.arguments, result: result.content }, 'tool call arguments and result');
  });
  return { call, message: message!, outcome: outcome!, durationMs };
}
