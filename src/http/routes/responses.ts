import type { RequestHandler } from 'express';
import type { CreateResponse, DeletedResponse, ResponseItemList } from '../../../generated/index.ts';
import { BadRequestError, NotFoundError } from '../../errors.ts';
import { inputItems } from '../../records/responses.ts';
import { prepareRun } from '../../runs/prepare.ts';
import { runAgent } from '../../runs/run.ts';
import type { Runtime } from '../../runtime.ts';
import type { StoredResponse } from '../../sessions/store.ts';
import { replayStoredResponse, ResponseEventWriter } from '../../wire/responses/render.ts';
import { finishedResponse, newResponseId, storedResponseObject } from '../../wire/responses/response-object.ts';
import { responsesRunFields } from '../../wire/responses/request.ts';
import { respondWhenDone, streamRun } from '../run-response.ts';
import { SseStream } from '../sse.ts';
import { runInputsFromHeaders } from '../run-headers.ts';
import { clientAbortSignal, generationOf } from '../request-context.ts';

const PREVIOUS = { label: '`previous_response_id`', param: 'previous_response_id' };

/** A stored response, or a 404 naming where its id came from. */
async function findResponse(runtime: Runtime, id: string, param: string, code: string): Promise<StoredResponse> {
  const stored = await runtime.store?.getResponse(id);
  if (stored) return stored;
  const what = param === 'previous_response_id' ? 'Previous response' : 'Response';
  throw new NotFoundError(`${what} with id '${id}' not found. It was never stored (\`store: false\`), was deleted, or belongs to another gateway's store.`, { param, code });
}

/**
 * POST /v1/responses: the body as a run request (the conversation of `previous_response_id`
 * looked up first) → prepare (every check) → run → a Response as JSON, or its semantic events.
 */
export function createResponseRoute(runtime: Runtime): RequestHandler {
  return async (req, res) => {
    const body = req.body as CreateResponse;
    const generation = generationOf(res);
    const requestId = res.locals.requestId as string;
    const request = responsesRunFields(body);
    if (request.droppedTools.length > 0) {
      runtime.logger.info({ event: 'responses.hosted_tools_left_out', types: request.droppedTools, requestId }, `hosted tools left out (not run by this gateway): ${request.droppedTools.join(', ')}`);
    }
    const previous = body.previous_response_id ? await findResponse(runtime, body.previous_response_id, 'previous_response_id', 'previous_response_not_found') : undefined;
    const id = newResponseId();
    const createdAtMs = Date.now();
    const createdAt = Math.floor(createdAtMs / 1000);
    const prepared = prepareRun(generation, {
      requestId,
      transport: 'http',
      ...request.run,
      ...runInputsFromHeaders(req.headers),
      previous: previous && { response: previous, name: PREVIOUS },
      response: request.run.store ? { id, previousResponseId: body.previous_response_id ?? null, createdAt: createdAtMs, input: request.input, extra: request.shell } : undefined,
      wholeReply: !body.stream,
    });
    res.locals.agentId = prepared.agent.id;
    const events = runAgent(prepared, runtime.runDeps(), clientAbortSignal(res));
    if (!body.stream) return respondWhenDone(res, events, (result) => finishedResponse(id, createdAt, request.shell, result));
    let writer: ResponseEventWriter | undefined;
    // Returned, not awaited: this frame ends here instead of staying suspended for the stream's life.
    return streamRun(
      res,
      events,
      {
        open: (sse) => {
          writer = new ResponseEventWriter({ id, createdAt, shell: request.shell, send: (event) => sse.sendEvent(event.type, event) });
          writer.open();
        },
        event: (_sse, event) => writer!.event(event),
        finished: (sse, result) => {
          writer!.finished(result);
          sse.end(false);
        },
        // Headers are gone: the failure travels as `response.failed`, as OpenAI sends it.
        failed: (sse, error) => {
          writer!.failed(error);
          sse.end(false);
        },
      },
      generation.config.gateway.http.keepAliveIntervalMs,
    );
  };
}

/** GET /v1/responses/{response_id}: a stored response, rebuilt from its records. */
export function getResponseRoute(runtime: Runtime): RequestHandler {
  return async (req, res) => {
    const stored = await findResponse(runtime, String(req.params.response_id), 'response_id', 'response_not_found');
    res.locals.agentId = stored.agentId;
    // The validator has made it a boolean already (the spec says so).
    if (String(req.query.stream) !== 'true') return void res.json(storedResponseObject(stored));
    // Its events again (the openai SDK's `responses.stream({ response_id })`), after `starting_after`.
    const after = req.query.starting_after === undefined ? -1 : Number(req.query.starting_after);
    const sse = new SseStream(res, generationOf(res).config.gateway.http.keepAliveIntervalMs);
    sse.open();
    replayStoredResponse(stored, (event) => {
      if (event.sequence_number > after) sse.sendEvent(event.type, event);
    });
    sse.end(false);
  };
}

/** DELETE /v1/responses/{response_id}: the response goes; the session keeps its turns. */
export function deleteResponseRoute(runtime: Runtime): RequestHandler {
  return async (req, res) => {
    const id = String(req.params.response_id);
    if (!(await runtime.store?.deleteResponse(id))) await findResponse(runtime, id, 'response_id', 'response_not_found');
    const body: DeletedResponse = { id, object: 'response', deleted: true };
    res.json(body);
  };
}

/** GET /v1/responses/{response_id}/input_items: the request's items, a page at a time. */
export function listInputItemsRoute(runtime: Runtime): RequestHandler {
  return async (req, res) => {
    const stored = await findResponse(runtime, String(req.params.response_id), 'response_id', 'response_not_found');
    const order = req.query.order === 'asc' ? 'asc' : 'desc';
    const limit = req.query.limit === undefined ? 20 : Number(req.query.limit);
    let items = inputItems(stored.id, stored.input);
    if (order === 'desc') items.reverse();
    const after = typeof req.query.after === 'string' ? req.query.after : undefined;
    if (after !== undefined) {
      const at = items.findIndex((item) => item.id === after);
      if (at === -1) throw new BadRequestError(`\`after\` names no input item of response ${stored.id}.`, { param: 'after', code: 'invalid_value' });
      items = items.slice(at + 1);
    }
    const page = items.slice(0, limit);
    const body: ResponseItemList = { object: 'list', data: page, has_more: items.length > page.length, first_id: page[0]?.id ?? '', last_id: page.at(-1)?.id ?? '' };
    res.json(body);
  };
}

/** POST /v1/responses/{response_id}/cancel: nothing runs in the background here, so nothing stored can be cancelled. */
export function cancelResponseRoute(runtime: Runtime): RequestHandler {
  return async (req, res) => {
    const stored = await findResponse(runtime, String(req.params.response_id), 'response_id', 'response_not_found');
    res.locals.agentId = stored.agentId;
    throw new BadRequestError(`Only responses created with \`background: true\` can be cancelled, and this gateway runs none in the background; response ${stored.id} has already ended. Close the connection to stop a run in progress.`, {
      param: 'response_id',
      code: 'response_not_cancellable',
    });
  };
}
