// Validators for OpenAI's own response schemas, from OpenAI's published OpenAPI document
// (test/fixtures/openai-openapi.yaml, a verbatim copy of OpenAI's published OpenAPI document).
import { readFileSync } from 'node:fs';
import { Ajv, type ValidateFunction } from 'ajv';
import YAML from 'yaml';

let ajv: Ajv | undefined;

function instance(): Ajv {
  if (!ajv) {
    const document = YAML.parse(readFileSync(new URL('../fixtures/openai-openapi.yaml', import.meta.url), 'utf8'));
    ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ $id: 'openai', components: normalizeNullable(document.components) });
  }
  return ajv;
}

export function openAiValidator(schemaName: string): ValidateFunction {
  const validate = instance().getSchema(`openai#/components/schemas/${schemaName}`);
  if (!validate) throw new Error(`OpenAI schema ${schemaName} not found`);
  return validate;
}

/** Throws with ajv's errors when `value` does not validate against OpenAI's schema. */
export function assertOpenAiShape(schemaName: string, value: unknown): void {
  const validate = openAiValidator(schemaName);
  if (!validate(value)) {
    throw new Error(`${schemaName} mismatch: ${JSON.stringify(validate.errors?.slice(0, 5))}\nvalue: ${JSON.stringify(value)}`);
  }
}

/** OpenAI's document still has a few OpenAPI 3.0 `nullable` flags; ajv wants them as `type: [T, "null"]`. */
function normalizeNullable(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(normalizeNullable);
  if (!node || typeof node !== 'object') return node;
  const { nullable, ...rest } = node as Record<string, unknown>;
  const out = Object.fromEntries(Object.entries(rest).map(([key, value]) => [key, normalizeNullable(value)]));
  if (nullable !== true) return out;
  if (typeof out.$ref === 'string') return { anyOf: [out, { type: 'null' }] };
  if (typeof out.type === 'string') out.type = [out.type, 'null'];
  if (Array.isArray(out.enum) && !out.enum.includes(null)) out.enum = [...out.enum, null];
  return out;
}

/** The property names of one of OpenAI's object schemas, through its `allOf` parts and `$ref`s. */
export function openAiObjectFields(schemaName: string): string[] {
  instance();
  const components = (ajv!.getSchema('openai')!.schema as { components: { schemas: Record<string, any> } }).components.schemas;
  const names = new Set<string>();
  const visit = (schema: any) => {
    if (!schema || typeof schema !== 'object') return;
    if (typeof schema.$ref === 'string') return visit(components[schema.$ref.split('/').at(-1)!]);
    for (const name of Object.keys(schema.properties ?? {})) names.add(name);
    for (const part of schema.allOf ?? []) visit(part);
  };
  visit(components[schemaName]);
  return [...names].sort();
}
