import { createRequire } from 'node:module';
import type { Ajv as AjvInstance, ErrorObject } from 'ajv';
import { mapDiscriminators, type OpenApiDocument } from './spec.ts';

export interface BodyIssue {
  path: string;
  message: string;
}

export type BodyExplainer = (operationSchema: string, body: unknown) => BodyIssue | undefined;

/**
 * Re-validates a rejected body with ajv's native discriminator support (mappings stripped, which
 * ajv does not accept), so the error names the branch the client meant: a `user` message with a
 * bad `content` is reported as that, not as "role must be developer". Compiled at the first
 * rejected body: a gateway that only sees valid requests never pays for it.
 */
export function createBodyExplainer(document: OpenApiDocument): BodyExplainer {
  let ajv: AjvInstance | undefined;
  const compiled = () => {
    if (ajv) return ajv;
    // Loaded here rather than imported: start-up does not need ajv at all.
    const { Ajv } = createRequire(import.meta.url)('ajv') as typeof import('ajv');
    ajv = new Ajv({ discriminator: true, strict: false, allErrors: false, validateFormats: false });
    const components = mapDiscriminators(document, ({ mapping: _mapping, ...rest }) => rest).components as object;
    ajv.addSchema({ $id: 'spec', components });
    return ajv;
  };
  return (schemaName, body) => {
    const validate = compiled().getSchema(`spec#/components/schemas/${schemaName}`);
    if (!validate || validate(body)) return undefined;
    const errors = validate.errors ?? [];
    // Every oneOf branch reports; the deepest error is the one inside the branch the client meant,
    // and at equal depth a specific complaint (too many items, bad pattern) beats a type mismatch.
    const depth = (error: ErrorObject) => error.instancePath.split('/').length + (error.keyword === 'required' || error.keyword === 'discriminator' ? 1 : 0);
    const rank = (error: ErrorObject) => depth(error) * 2 + (error.keyword === 'type' ? 0 : 1);
    const candidates = errors.filter((error) => error.keyword !== 'oneOf' && error.keyword !== 'anyOf');
    const best = candidates.reduce<ErrorObject | undefined>((top, error) => (!top || rank(error) > rank(top) ? error : top), undefined) ?? errors[0];
    return best ? toIssue(best, errors) : undefined;
  };
}

function toIssue(error: ErrorObject, all: ErrorObject[]): BodyIssue {
  let path = error.instancePath;
  let message = error.message ?? 'is invalid';
  if (error.keyword === 'required') path += `/${(error.params as { missingProperty: string }).missingProperty}`;
  if (error.keyword === 'required') message = 'is required';
  if (error.keyword === 'enum') message = `must be one of ${(error.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}`;
  if (error.keyword === 'discriminator') {
    const { tag, tagValue } = error.params as { tag: string; tagValue?: unknown };
    path += `/${tag}`;
    message = tagValue === undefined ? 'is required' : `${JSON.stringify(tagValue)} is not supported here`;
  }
  if (error.keyword === 'type') {
    // A oneOf of types fails once per branch: name them all.
    const types = all.filter((other) => other.keyword === 'type' && other.instancePath === error.instancePath).map((other) => (other.params as { type: string }).type);
    message = `must be ${[...new Set(types)].join(' or ')}`;
  }
  return { path: `/body${path}`, message };
}
