// Validators for the gateway's own published schemas (openapi/openapi.yaml, as generated JSON): what
// the gateway promises where it differs from OpenAI's document (usage counts it could not learn).
import { readFileSync } from 'node:fs';
import { Ajv } from 'ajv';

let ajv: Ajv | undefined;

/** Throws with ajv's errors when `value` does not validate against the gateway's schema `schemaName`. */
export function assertSpecShape(schemaName: string, value: unknown): void {
  if (!ajv) {
    const document = JSON.parse(readFileSync(new URL('../../generated/openapi.json', import.meta.url), 'utf8'));
    // `discriminator` only guides the type generator; the branches' enums decide validity.
    ajv = new Ajv({ strict: false, allErrors: true, validateFormats: false });
    ajv.addSchema({ $id: 'gateway', components: document.components });
  }
  const validate = ajv.getSchema(`gateway#/components/schemas/${schemaName}`);
  if (!validate) throw new Error(`schema ${schemaName} not found in the gateway's spec`);
  if (!validate(value)) throw new Error(`${schemaName} mismatch: ${JSON.stringify(validate.errors?.slice(0, 5))}\nvalue: ${JSON.stringify(value)}`);
}
