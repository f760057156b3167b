import type { RequestHandler } from 'express';
import type { CreateChatCompletionRequest } from '../../../generated/index.ts';
import { runAgent } from '../../runs/run.ts';
import { prepareRun } from '../../runs/prepare.ts';
import type { Runtime } from '../../runtime.ts';
import { errorBody } from '../errors.ts';
import { chatRunFields } from '../../wire/chat-completions/request.ts';
import { ChunkBuilder, completionBody, newCompletionId } from '../../wire/chat-completions/render.ts';
import { respondWhenDone, streamRun } from '../run-response.ts';
import { firstHeader, runInputsFromHeaders, TOOL_EVENTS_HEADER } from '../run-headers.ts';
import { clientAbortSignal, generationOf } from '../request-context.ts';

/** POST /v1/chat/completions: the body as a run request → prepare (every check) → run → JSON or SSE. */
export function chatCompletionsRoute(runtime: Runtime): RequestHandler {
  return async (req, res) => {
    const body = req.body as CreateChatCompletionRequest;
    const generation = generationOf(res);
    const prepared = prepareRun(generation, { requestId: res.locals.requestId, transport: 'http', ...chatRunFields(body), ...runInputsFromHeaders(req.headers), wholeReply: !body.stream });
    res.locals.agentId = prepared.agent.id;
    const meta = { id: newCompletionId(), created: Math.floor(Date.now() / 1000), model: body.model ?? 'openclaw' };
    const events = runAgent(prepared, runtime.runDeps(), clientAbortSignal(res));
    if (!body.stream) return respondWhenDone(res, events, (result) => completionBody(meta, result));
    const chunks = new ChunkBuilder(meta, body.stream_options?.include_usage === true);
    const toolEvents = wantsToolEvents(req.headers[TOOL_EVENTS_HEADER]);
    // Returned, not awaited: this frame ends here instead of staying suspended for the stream's life.
    return streamRun(
      res,
      events,
      {
        open: (sse) => sse.send(chunks.role()),
        event: (sse, event) => {
          if (event.type === 'tool.started' || event.type === 'tool.finished') {
            if (toolEvents) sse.send(chunks.toolEvent(event));
            return;
          }
          const chunk = chunks.event(event);
          if (chunk) sse.send(chunk);
        },
        finished: (sse, result) => {
          for (const chunk of chunks.finish(result)) sse.send(chunk);
          if (body.stream_options?.include_usage) sse.send(chunks.usage(result));
          sse.end();
        },
        // Headers are gone: the error travels in the stream, as OpenAI does.
        failed: (sse, error) => {
          sse.send(errorBody(error, res.locals.requestId));
          sse.end();
        },
      },
      generation.config.gateway.http.keepAliveIntervalMs,
    );
  };
}

function wantsToolEvents(value: string | string[] | undefined): boolean {
  const flag = firstHeader(value);
  return flag === 'true' || flag === '1';
}
