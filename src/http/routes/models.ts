import type { RequestHandler } from 'express';
import type { ListModelsResponse, Model } from '../../../generated/index.ts';
import { listModelTargets } from '../../agents/roster.ts';
import { resolveAgentTarget } from '../../agents/target.ts';
import { GatewayError, NotFoundError } from '../../errors.ts';
import { generationOf } from '../request-context.ts';

function modelObject(id: string): Model {
  return { id, object: 'model', created: 0, owned_by: 'openclaw' };
}

/** GET /v1/models: agent-first: `openclaw`, `openclaw/default`, then `openclaw/<agentId>` per agent. */
export function listModelsRoute(): RequestHandler {
  return (_req, res) => {
    const body: ListModelsResponse = { object: 'list', data: listModelTargets(generationOf(res).roster).map(modelObject) };
    res.json(body);
  };
}

/** GET /v1/models/{model}: any spelling that names an agent answers, echoed as asked. */
export function retrieveModelRoute(): RequestHandler {
  return (req, res) => {
    const id = String(req.params.model);
    try {
      resolveAgentTarget({ model: id }, generationOf(res).roster);
    } catch (error) {
      if (!(error instanceof GatewayError)) throw error;
      throw new NotFoundError(`The model \`${id}\` does not exist on this gateway.`, { param: 'model', code: 'model_not_found' });
    }
    res.json(modelObject(id));
  };
}
