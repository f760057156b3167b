import type { Request, RequestHandler, Response } from 'express';
import { resolveAgentTarget, firstHeader } from '../../agents/target.ts';
import { planModels, runAgent, type RunInput, type RunResult } from '../../agents/run.ts';
import { ApiError } from '../../errors.ts';
import { resolveSessionKey } from '../../sessions/keys.ts';
import type { Runtime } from '../../runtime.ts';
import { checkChatRequest, forwardedParams } from '../chat-request.ts';
import { ChunkBuilder, completionBody, newCompletionId } from '../completion.ts';
import { errorBody, toApiError } from '../errors.ts';
import { SseStream } from '../sse.ts';
import type { CreateChatCompletionRequest } from '../wire.ts';

/** POST /v1/chat/completions: parse → resolve agent and session → run → write. */
export function chatCompletionsRoute(runtime: Runtime): RequestHandler {
  return async (req, res) => {
    const body = req.body as CreateChatCompletionRequest;
    const ctx = runtime.runContext();
    const target = resolveAgentTarget({ model: body.model, headers: req.headers }, ctx.roster);
    const agent = ctx.roster.agents.get(target.agentId)!;
    res.locals.agentId = agent.id;
    checkChatRequest(body, agent);
    const session = resolveSessionKey({ user: body.user, headers: req.headers }, agent.id);
    for (const spelling of [target.deprecatedSpelling, session.deprecatedSpelling]) {
      if (spelling) runtime.logger.warn({ event: 'deprecated_name', name: spelling, requestId: res.locals.requestId }, `"${spelling}" is deprecated; use the openclaw spelling`);
    }
    const modelOverride = firstHeader(req.headers['x-openclaw-model'])?.trim() || undefined;
    // Resolving the models now turns an unknown override into a 404 before any byte is sent.
    planModels(ctx, { agentId: agent.id, modelOverride });

    const aborter = new AbortController();
    res.on('close', () => {
      if (!res.writableFinished) aborter.abort(new Error('client disconnected'));
    });
    const input: RunInput = {
      agentId: agent.id,
      sessionKey: session.key,
      messages: body.messages,
      params: forwardedParams(body),
      modelOverride,
      requestId: res.locals.requestId,
      signal: aborter.signal,
    };
    const id = newCompletionId();
    const created = Math.floor(Date.now() / 1000);
    const model = body.model ?? 'openclaw';
    runtime.activeRuns++;
    try {
      if (body.stream) await streamRun(runtime, req, res, input, { id, created, model, includeUsage: body.stream_options?.include_usage === true });
      else {
        const result = await runAgent(ctx, input);
        res.json(completionBody(id, created, model, result));
      }
    } finally {
      runtime.activeRuns--;
    }
  };
}

async function streamRun(
  runtime: Runtime,
  _req: Request,
  res: Response,
  input: RunInput,
  meta: { id: string; created: number; model: string; includeUsage: boolean },
): Promise<void> {
  const ctx = runtime.runContext();
  const sse = new SseStream(res, ctx.config.gateway.http.keepAliveIntervalMs);
  const chunks = new ChunkBuilder(meta.id, meta.created, meta.model, meta.includeUsage);
  sse.open();
  sse.send(chunks.role());
  let result: RunResult;
  try {
    result = await runAgent(ctx, input, (delta) => sse.send(chunks.delta(delta)));
  } catch (error) {
    if (input.signal.aborted) {
      sse.abandon();
      return;
    }
    // Headers are gone: the error travels in the stream, as OpenAI does.
    const apiError: ApiError = toApiError(error, runtime.logger, input.requestId);
    res.locals.errorCode = apiError.code;
    res.locals.streamError = apiError.status;
    sse.send(errorBody(apiError, input.requestId));
    sse.end();
    return;
  }
  sse.send(chunks.finish(result));
  if (meta.includeUsage) sse.send(chunks.usage(result.usage));
  sse.end();
}
