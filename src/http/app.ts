import express, { type RequestHandler } from 'express';
import { trustProxyFromConfig } from '../auth/client-address.ts';
import type { AuthGuard } from '../auth/guard.ts';
import { authenticate } from '../auth/middleware.ts';
import { httpMetrics, metricsRoute, routeLabeler } from './metrics.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import { BadRequestError, MethodNotAllowedError, NotFoundError, UpgradeRequiredError } from '../errors.ts';
import type { Runtime } from '../runtime.ts';
import { cors } from './cors.ts';
import { BodyCheckPool } from './body-pool.ts';
import { jsonBody } from './json-body.ts';
import { errorMiddleware } from './errors.ts';
import { turnAwayWhileDraining } from './drain.ts';
import { createBodyExplainer } from './explain.ts';
import { generationOf, requestContext, securityHeaders } from './request-context.ts';
import { apiReferenceRoutes } from './routes/api-reference.ts';
import { chatCompletionsRoute } from './routes/chat-completions.ts';
import { healthRoute, readyRoute } from './routes/health.ts';
import { listModelsRoute, retrieveModelRoute } from './routes/models.ts';
import { cancelResponseRoute, createResponseRoute, deleteResponseRoute, getResponseRoute, listInputItemsRoute } from './routes/responses.ts';
import { withRunSlot } from './run-slot.ts';
import { inSequence } from './in-sequence.ts';
import { routeTable, settleUrlParseWarning, validatorOptions, type PublishedSpec } from './spec.ts';

export type HttpApp = express.Express & {
  /** Loads what the first API request would otherwise wait for (the request validator). */
  warmUp(): Promise<void>;
  /** The worker thread that checks large bodies (its counts); `close()` ends it. */
  bodyChecks: BodyCheckPool;
  close(): Promise<void>;
};

/** The HTTP app, in the order a request meets it. */
export function createHttpApp(runtime: Runtime, spec: PublishedSpec, authGuard: AuthGuard, metrics: GatewayMetrics): HttpApp {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('query parser', 'simple');
  // X-Forwarded-For names the client only while gateway.trustProxy (live config).
  app.set('trust proxy', trustProxyFromConfig(() => runtime.current.config.gateway.trustProxy));

  // What every request meets first, as one layer.
  app.use(
    inSequence([
      requestContext(runtime, runtime.plainLogger),
      httpMetrics(metrics, routeLabeler(Object.keys(spec.document.paths))),
      securityHeaders(),
      cors(),
      turnAwayWhileDraining(runtime),
    ]),
  );

  // The OpenAI API first, so its requests do not pass the layers of every other route: known
  // route and method (before auth, like OpenAI), endpoint enabled, auth, then the body read and
  // validated, as one layer.
  const bodyChecks = new BodyCheckPool();
  const validator = specValidator(spec, runtime);
  const api = express.Router();
  api.use(inSequence([encodeModelIdSlashes(), knownRoutesOnly(spec), endpointEnabled(), authenticate(authGuard), jsonBody(bodyChecks), validator.handler]));
  api.post('/chat/completions', withRunSlot(runtime, metrics, chatCompletionsRoute(runtime)));
  api.post('/responses', withRunSlot(runtime, metrics, createResponseRoute(runtime)));
  api.get('/responses/:response_id', getResponseRoute(runtime));
  api.delete('/responses/:response_id', deleteResponseRoute(runtime));
  api.get('/responses/:response_id/input_items', listInputItemsRoute(runtime));
  api.post('/responses/:response_id/cancel', cancelResponseRoute(runtime));
  api.get('/models', listModelsRoute());
  api.get('/models/:model', retrieveModelRoute());
  app.use('/v1', api);

  app.get(['/health', '/healthz'], healthRoute());
  app.get(['/ready', '/readyz'], readyRoute(runtime, authGuard.limiter));
  app.get('/metrics', metricsRoute(metrics));
  app.get('/openapi.json', (_req, res) => void res.type('application/json').send(spec.json));
  app.get('/openapi.yaml', (_req, res) => void res.type('application/yaml').send(spec.yaml));
  app.use(apiReferenceRoutes());

  // /ws answers upgrades (src/ws); a plain request is told how to open it.
  app.all(['/ws', '/ws/'], () => {
    throw new UpgradeRequiredError('The WebSocket at /ws needs an upgrade request (Connection: Upgrade, Upgrade: websocket).', { code: 'upgrade_required' });
  });
  app.use(knownRoutesOnly(spec));

  app.use(errorMiddleware(runtime.logger, createBodyExplainer(spec.document)));
  return Object.assign(app, { warmUp: validator.load, bodyChecks, close: () => bodyChecks.close() });
}

/**
 * express-openapi-validator on the published spec, loaded on first use or by the gateway's
 * background warm-up once it listens: it is the largest piece of start-up, and /health and
 * /ready do not need it. A request that needs validation before it is loaded waits for it. The
 * spec itself is checked against the OpenAPI schema by the test suite rather than at every start
 * (`validateApiSpec: false`).
 */
function specValidator(spec: PublishedSpec, runtime: Runtime): { handler: RequestHandler; load: () => Promise<void> } {
  let validator: RequestHandler | undefined;
  let loading: Promise<void> | undefined;
  const load = () => {
    loading ??= import('express-openapi-validator').then((OpenApiValidator) => {
      settleUrlParseWarning();
      validator = inSequence(OpenApiValidator.middleware(validatorOptions(spec.document)) as unknown as RequestHandler[]);
    });
    // A failed load is tried again by the next request rather than remembered.
    loading.catch(() => (loading = undefined));
    return loading;
  };
  const handler: RequestHandler = (req, res, next) => {
    // A large body was validated by the same validator on the body-check worker.
    if (res.locals.bodyValidated === true) return next();
    if (validator) return validator(req, res, next);
    load().then(
      () => validator!(req, res, next),
      (error: unknown) => {
        runtime.logger.error({ event: 'validator.load_failed', err: error }, 'the request validator could not be loaded');
        next(error);
      },
    );
  };
  return { handler, load };
}

/** `GET /v1/models/openclaw/default` means the id `openclaw/default`, as if it were sent encoded (under the /v1 router). */
function encodeModelIdSlashes(): RequestHandler {
  const prefix = '/models/';
  return (req, _res, next) => {
    const [path, query] = req.url.split('?', 2);
    if (path.startsWith(prefix) && path.indexOf('/', prefix.length) !== -1) {
      let id: string;
      try {
        id = decodeURIComponent(path.slice(prefix.length));
      } catch {
        throw new BadRequestError('The model id in the path has a malformed percent-encoding.', { param: 'model', code: 'invalid_model_id' });
      }
      req.url = prefix + encodeURIComponent(id) + (query !== undefined ? `?${query}` : '');
    }
    next();
  };
}

/** 404 for paths the spec does not have, 405 with `Allow` for the wrong method; before auth, like OpenAI. */
function knownRoutesOnly(spec: PublishedSpec): RequestHandler {
  const routes = routeTable(spec.document);
  return (req, res, next) => {
    // Under the /v1 router req.path is relative to it.
    const path = req.baseUrl + req.path;
    const route = routes.find((candidate) => candidate.pattern.test(path));
    if (!route) throw new NotFoundError(`Unknown route: ${req.method} ${path}.`, { code: 'not_found' });
    const allowed = route.methods.includes('GET') ? [...route.methods, 'HEAD'] : route.methods;
    if (req.method === 'OPTIONS') {
      res.setHeader('Allow', [...allowed, 'OPTIONS'].join(', ')).status(204).end();
      return;
    }
    if (!allowed.includes(req.method)) throw new MethodNotAllowedError(req.method, path, allowed);
    next();
  };
}

/**
 * Each OpenAI route exists only while its endpoint is enabled (read per request: hot-reloadable):
 * `/v1/chat/completions` with `chatCompletions`, `/v1/responses…` with `responses`, and
 * `/v1/models…` while either is on.
 */
function endpointEnabled(): RequestHandler {
  return (req, res, next) => {
    const { chatCompletions, responses } = generationOf(res).config.gateway.http.endpoints;
    const [enabled, which] = req.path.startsWith('/responses')
      ? [responses.enabled, 'The Responses API is disabled (gateway.http.endpoints.responses.enabled)']
      : req.path.startsWith('/chat/')
        ? [chatCompletions.enabled, 'The chat completions endpoint is disabled (gateway.http.endpoints.chatCompletions.enabled)']
        : [chatCompletions.enabled || responses.enabled, 'The OpenAI endpoints are disabled (gateway.http.endpoints.chatCompletions.enabled, gateway.http.endpoints.responses.enabled)'];
    if (!enabled) throw new NotFoundError(`Unknown route: ${req.method} /v1${req.path}. ${which}.`, { code: 'endpoint_disabled' });
    next();
  };
}
