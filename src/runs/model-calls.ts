import type { Logger } from 'pino';
import type { MessageRecord } from '../records/record.ts';
import type { ResolvedModel } from '../providers/registry.ts';
import { ProviderError, type ModelParams, type ProviderEvent } from '../providers/types.ts';
import type { RunObserver } from './observer.ts';
import type { PreparedRun } from './prepare.ts';

const RETRY_BUDGET_MS = 9_000;

export type ModelCallEvent = Exclude<ProviderEvent, { type: 'finish' }> | (ProviderEvent & { type: 'finish' }) | { type: 'accepted'; model: ResolvedModel; sentAt: bigint };

/**
 * The run's models in order, each retried with backoff while it is unavailable (within a budget),
 * then the next. Yields `accepted` when a call's response began, then that call's events. A call
 * that fails after it relayed a delta is not retried: another attempt would repeat or contradict
 * what the client already has.
 */
export async function* callModels(
  prepared: PreparedRun,
  messages: MessageRecord[],
  params: ModelParams,
  signal: AbortSignal,
  logger: Logger,
  observer: RunObserver | undefined,
): AsyncGenerator<ModelCallEvent> {
  const started = Date.now();
  let lastError: unknown;
  for (const model of prepared.models) {
    const maxRetries = model.config?.maxRetries ?? 0;
    for (let attempt = 0; attempt <= maxRetries; attempt++) {
      let relayed = false;
      try {
        const sentAt = process.hrtime.bigint();
        const events = await model.provider.open({ model: model.model, messages, params, signal, requestId: prepared.requestId, whole: prepared.wholeReply });
        yield { type: 'accepted', model, sentAt };
        let finished = false;
        for await (const event of events) {
          if (event.type === 'finish') finished = true;
          else relayed = true;
          yield event;
        }
        if (!finished) throw new ProviderError(model.providerName, 'malformed', `Provider ${model.providerName} ended without a finish reason.`);
        return;
      } catch (error) {
        if (signal.aborted) throw error;
        lastError = error;
        const failure = error instanceof ProviderError ? error : undefined;
        observer?.modelCallFailed?.(model.providerName, failure?.kind ?? 'other');
        logger.warn({ event: 'upstream.error', provider: model.providerName, model: model.model, attempt, kind: failure?.kind, status: failure?.details.status, requestId: prepared.requestId }, failure?.message ?? String(error));
        if (relayed || !failure || failure.kind !== 'unavailable') throw error;
        const delay = (model.config?.retryBaseDelayMs ?? 250) * 2 ** attempt * (0.5 + Math.random());
        if (attempt === maxRetries || Date.now() - started + delay > RETRY_BUDGET_MS) break;
        await sleep(delay, signal);
      }
    }
  }
  throw lastError;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
