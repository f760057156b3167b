import type { Logger } from 'pino';
import type { GatewayError } from '../errors.ts';
import { addUsage, type MessageRecord, type ToolCallRecord, type UsageRecord } from '../records/record.ts';
import type { ResolvedModel } from '../providers/registry.ts';
import type { FinishReason } from '../providers/types.ts';
import { SessionBusyError } from '../sessions/errors.ts';
import type { SessionLock, SessionStore } from '../sessions/store.ts';
import type { RunEvent, RunResult } from './events.ts';
import { runFailure, type AbortCause } from './failures.ts';
import { callModels } from './model-calls.ts';
import type { RunObserver } from './observer.ts';
import type { PreparedRun } from './prepare.ts';
import { planPrompt } from './prompt.ts';
import { ReplyAccumulator } from './reply.ts';
import { openRunSession } from './session.ts';
import { finishedTurnMeta, storedResponse, unfinishedTurnMeta } from './stored-turn.ts';
import { AfterDispatch } from './after-dispatch.ts';
import { runToolStep, ToolCallRelay } from './tool-step.ts';

export interface RunDeps {
  store?: SessionStore;
  logger: Logger;
  /** For the `tool.call` line, whose fields are never secrets (see plainLinesLogger); else `logger`. */
  plainLogger?: Logger;
  observer?: RunObserver;
  /** Called when the run starts; the function it returns when it has ended (shutdown waits for those). */
  track?: () => () => void;
  /** Aborted when the gateway's shutdown grace ran out: runs still going end with a shutdown error. */
  shutdown?: AbortSignal;
}

/**
 * The agent run, the same for every transport: an async iterable of run events. It takes the
 * session's lock (from the store, so it holds across processes), replays the transcript, calls the
 * agent's models in order with retries, relays every delta as it arrives, and stores the turn with
 * the position it was built on. Pulling is what drives it: a transport that stops reading (a slow
 * client) stops the upstream being read too. Aborting `signal` (the client went away) ends it with
 * the new user turn stored and no half reply.
 */
export async function* runAgent(prepared: PreparedRun, deps: RunDeps, signal: AbortSignal): AsyncGenerator<RunEvent, void, undefined> {
  const { runId, agent, requestId } = prepared;
  const started = Date.now();
  const logger = deps.logger;
  for (const spelling of prepared.deprecations) {
    logger.warn({ event: 'deprecated_name', name: spelling, requestId }, `"${spelling}" is deprecated; use the openclaw spelling`);
  }
  const untrack = deps.track?.();

  // One controller for the client's abort and the agent's timeout: no AbortSignal.any/timeout
  // pair per run (Node keeps those alive after their listeners are gone).
  const control = new AbortController();
  let aborted: AbortCause | undefined;
  const onClientAbort = () => {
    aborted ??= 'client';
    control.abort(signal.reason);
  };
  if (signal.aborted) onClientAbort();
  else signal.addEventListener('abort', onClientAbort, { once: true });
  const onShutdown = () => {
    aborted ??= 'shutdown';
    control.abort(deps.shutdown?.reason);
  };
  if (deps.shutdown?.aborted) onShutdown();
  else deps.shutdown?.addEventListener('abort', onShutdown, { once: true });
  const timer = setTimeout(() => {
    aborted ??= 'timeout';
    control.abort(new Error('agent timeout'));
  }, prepared.timeoutMs);

  const store = prepared.sessionKey ? deps.store : undefined;
  /** Where the turn goes: the prepared key, or the branch the run continues in. */
  let sessionKey = prepared.sessionKey;
  let lock: SessionLock | undefined;
  let position = 0;
  let turnsToStore: MessageRecord[] = prepared.messages.newTurns;
  /** Tool steps the run completed (the assistant's calls and every answer), stored even if the run fails later. */
  const completedSteps: MessageRecord[] = [];
  let stored = false;
  let usage: UsageRecord | undefined;
  let answeredBy: string | undefined;
  let outcome: 'ok' | 'error' | 'aborted' = 'error';
  let waitingForSession = false;
  const after = new AfterDispatch(logger);

  /** Stores what a run that did not finish leaves behind: the new turns and its completed tool steps, never a half reply or a half step. */
  const storeUnfinished = async (error: GatewayError) => {
    if (stored || !store || !lock) return;
    stored = true;
    const meta = unfinishedTurnMeta(prepared, started, error, usage);
    try {
      const messages = [...turnsToStore, ...completedSteps];
      await store.appendTurn(sessionKey!, { messages, meta }, { expectedPosition: position, response: storedResponse(prepared, sessionKey!, position + messages.length, completedSteps, meta), lock });
    } catch (storeError) {
      logger.error({ event: 'session.store_failed', sessionKey, requestId, err: storeError }, 'could not store the turns of a failed run');
    }
  };

  try {
    let history: MessageRecord[] = [];
    if (store) {
      waitingForSession = true;
      const session = await openRunSession(store, prepared, sessionKey!, control.signal, deps.observer?.sessionLockWaited);
      waitingForSession = false;
      ({ key: sessionKey, lock, position, history } = session);
    }
    const plan = planPrompt({ agentSystemPrompt: agent.systemPrompt, split: prepared.messages, stored: history, storedPosition: position });
    turnsToStore = plan.turnsToStore;

    // The tool loop: each step is one model call; the gateway's own tool calls of a step are
    // executed and answered, and the model is called again, until it answers without them or
    // the agent's maxToolSteps is reached (then one last call without server tools).
    const tools = prepared.tools;
    let prompt = plan.prompt;
    // What the client was shown over every step; without server tools that is the one reply itself.
    const across = tools ? new ReplyAccumulator() : undefined;
    let accepted = false;
    let reply: ReplyAccumulator;
    let clientCalls: ToolCallRecord[];
    let finishReason: FinishReason;
    let endedMidStep = false;
    for (let step = 1; ; step++) {
      const last = tools !== undefined && step > tools.maxSteps;
      const params = tools === undefined ? prepared.params : last ? tools.finalParams : step === 1 ? tools.params : tools.laterParams;
      const relay = tools ? new ToolCallRelay(tools.clientNames) : undefined;
      reply = new ReplyAccumulator();
      let model: ResolvedModel | undefined;
      let sentAt = 0n;
      for await (const event of callModels(prepared, prompt, params, control.signal, logger, deps.observer)) {
        if (event.type === 'accepted') {
          model = event.model;
          sentAt = event.sentAt;
          if (!accepted) {
            accepted = true;
            yield { type: 'run.accepted', runId, model: model.ref };
          }
          continue;
        }
        if (event.type === 'finish') {
          reply.finish = event;
          continue;
        }
        if (!reply.relayed) {
          reply.relayed = true;
          deps.observer?.firstToken?.(model!.providerName, Number(process.hrtime.bigint() - sentAt) / 1e9);
        }
        reply.add(event);
        if (event.type === 'tool_call' && relay) {
          for (const delta of relay.push(event)) yield delta;
          continue;
        }
        across?.add(event);
        yield event;
      }
      if (relay) for (const delta of relay.finish()) yield delta;
      answeredBy = model!.ref;
      usage = addUsage(usage, reply.finish!.usage);
      if (reply.finish!.usage) yield { type: 'usage', usage: reply.finish!.usage };
      yield { type: 'step.finished', step, finishReason: reply.finish!.finishReason, model: answeredBy };
      finishReason = reply.finish!.finishReason;
      if (!tools) {
        clientCalls = reply.calls;
        break;
      }
      clientCalls = reply.calls.filter((call) => tools.clientNames.has(call.name));
      const serverCalls = reply.calls.filter((call) => !tools.clientNames.has(call.name));
      if (serverCalls.length === 0) break;
      if (last) {
        // Out of steps, yet the model called a tool it was no longer offered: what it said stands;
        // the calls are dropped (a stored call without its answer would break every later turn).
        reply.calls = clientCalls;
        if (clientCalls.length === 0 && finishReason === 'tool_calls') finishReason = 'stop';
        break;
      }
      for (const call of serverCalls) call.executor = 'server';
      const assistant = reply.message();
      const results = yield* runToolStep(serverCalls, { step, tools, signal: control.signal, logger, plainLogger: deps.plainLogger ?? logger, observer: deps.observer, requestId, runId, after });
      // An aborted step is dropped whole: its call and half its answers are never stored.
      control.signal.throwIfAborted();
      completedSteps.push(assistant, ...results);
      prompt = [...prompt, assistant, ...results];
      // The client's own calls of this step end the run; its tool results continue the session.
      if (clientCalls.length > 0) {
        finishReason = 'tool_calls';
        endedMidStep = true;
        break;
      }
    }

    const shown = across ?? reply;
    // After a step that mixed the client's calls with the gateway's, its message is stored already.
    const added = endedMidStep ? [...completedSteps] : [...completedSteps, reply.message()];
    const result: RunResult = {
      runId,
      agentId: agent.id,
      sessionKey,
      model: answeredBy!,
      content: shown.text === '' && clientCalls.length > 0 ? null : shown.text,
      refusal: shown.refusal === '' ? null : shown.refusal,
      reasoning: shown.reasoning,
      toolCalls: clientCalls,
      finishReason,
      usage,
      messages: added,
      ...shown.details(reply.finish),
    };
    if (store && lock) {
      // The reply lands together with the turns that asked for it, in one write; if that write
      // fails the client is told, rather than believing the session remembers a reply it does not.
      stored = true;
      const meta = finishedTurnMeta(prepared, started, result);
      const messages = [...turnsToStore, ...result.messages];
      await store.appendTurn(sessionKey!, { messages, meta }, { expectedPosition: position, response: storedResponse(prepared, sessionKey!, position + messages.length, result.messages, meta), lock });
    }
    outcome = 'ok';
    yield { type: 'run.finished', result };
  } catch (error) {
    // Running out of time while another run holds the session is the session being busy.
    const failure =
      waitingForSession && aborted === 'timeout' ? new SessionBusyError(sessionKey!, prepared.timeoutMs) : runFailure(error, { agentId: agent.id, timeoutSeconds: agent.timeoutSeconds, aborted, runId });
    if (failure.kind === 'internal') logger.error({ event: 'run.failed', requestId, runId, err: error }, 'run failed');
    outcome = failure.kind === 'aborted' ? 'aborted' : 'error';
    await storeUnfinished(failure);
    yield { type: 'run.failed', error: failure, runId };
  } finally {
    // Reached also when the transport stops pulling (return()): the run counts as aborted then.
    if (!stored && store && lock) await storeUnfinished(runFailure(new Error('abandoned'), { agentId: agent.id, timeoutSeconds: agent.timeoutSeconds, aborted: 'client', runId }));
    clearTimeout(timer);
    // Tool calls' lines and metrics still pending go out now: after the transport has written the
    // run's end (it resumes this generator right after, in the same turn of the event loop, before
    // the gateway reads anything else), so a client that has its answer finds them there.
    after.flush();
    // A transport that stopped pulling mid-step leaves tool calls running: they are cancelled. A
    // run that finished has nothing in flight (each model call read to its end, each tool call
    // answered); aborting it anyway cost a stack trace for the reason and the listeners' dispatch,
    // a fifth of this generator's own time per run.
    if (outcome !== 'ok' && !control.signal.aborted) control.abort(new Error('run ended'));
    signal.removeEventListener('abort', onClientAbort);
    deps.shutdown?.removeEventListener('abort', onShutdown);
    await lock?.release().catch((error: unknown) => logger.warn({ event: 'session.unlock_failed', sessionKey, err: error }, 'could not release the session lock; it lapses with its lease'));
    deps.observer?.runEnded?.({ transport: prepared.transport, agentId: agent.id, model: answeredBy, outcome, seconds: (Date.now() - started) / 1000, usage });
    untrack?.();
  }
}
