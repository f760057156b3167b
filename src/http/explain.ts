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
    const components = optionalTags(mapDiscriminators(document, ({ mapping: _mapping, ...rest }) => rest).components as Components);
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
    const candidates = errors.filter((error) => error.keyword !== 'oneOf' && error.keyword !== 'anyOf' && error.keyword !== 'if');
    const best = candidates.reduce<ErrorObject | undefined>((top, error) => (!top || rank(error) > rank(top) ? error : top), undefined) ?? errors[0];
    return best ? toIssue(best, errors) : undefined;
  };
}

type Schema = Record<string, any>;
type Components = { schemas: Record<string, Schema> } & Record<string, unknown>;

/**
 * The unions the explainer reads by their tag. A `oneOf` with a `discriminator`, or one whose
 * branches each give `type` its own `enum` (an input item: the spec cannot declare that
 * discriminator, since a message may leave `type` out), is checked as a discriminated union, so
 * the error comes from the branch the client meant. ajv wants the tag in every branch: a union
 * whose branches may leave it out becomes, with the tag, the discriminated union (each branch
 * requiring it); without, only the branches that allow that.
 */
function optionalTags(components: Components): Components {
  const resolve = (schema: Schema): Schema => (typeof schema.$ref === 'string' ? (components.schemas[schema.$ref.split('/').pop()!] ?? schema) : schema);
  /** `type` when every branch names its own values for it. */
  const inferredTag = (branches: Schema[]): string | undefined => {
    const values: unknown[] = [];
    for (const branch of branches) {
      const property = resolve(branch).properties?.type;
      const own = property?.const !== undefined ? [property.const] : property?.enum;
      if (!Array.isArray(own) || own.length === 0) return undefined;
      values.push(...own);
    }
    return new Set(values).size === values.length && values.every((value) => typeof value === 'string') ? 'type' : undefined;
  };
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const out: Schema = Object.fromEntries(Object.entries(node).map(([key, value]) => [key, walk(value)]));
    if (!Array.isArray(out.oneOf)) return out;
    const tag: string | undefined = out.discriminator?.propertyName ?? inferredTag(out.oneOf);
    if (!tag) return out;
    const { oneOf, ...rest } = out;
    const discriminator = out.discriminator ?? { propertyName: tag };
    const optional = oneOf.filter((branch: Schema) => !resolve(branch).required?.includes(tag));
    if (optional.length === 0) return { ...rest, oneOf, discriminator };
    delete rest.discriminator;
    const tagged = oneOf.map((branch: Schema) => (optional.includes(branch) ? { properties: { [tag]: resolve(branch).properties[tag] }, required: [tag], allOf: [branch] } : branch));
    return { ...rest, if: { required: [tag] }, then: { oneOf: tagged, discriminator }, else: { oneOf: optional } };
  };
  return { ...components, schemas: walk(components.schemas) as Record<string, Schema> };
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
