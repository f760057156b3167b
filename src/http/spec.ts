import { readFileSync } from 'node:fs';
import { fileURLToPath, parse as legacyUrlParse } from 'node:url';

export const SPEC_PATH = fileURLToPath(new URL('../../openapi/openapi.yaml', import.meta.url));
/** The same document parsed, written by `npm run generate` (check:generated keeps it in step with the YAML). */
export const SPEC_JSON_PATH = fileURLToPath(new URL('../../generated/openapi.json', import.meta.url));

export interface PublishedSpec {
  /** The file's bytes, served as /openapi.yaml unchanged. */
  yaml: string;
  /** The same document as JSON, served as /openapi.json. */
  json: string;
  document: OpenApiDocument;
}

export interface OpenApiDocument {
  paths: Record<string, Record<string, unknown>>;
  [key: string]: unknown;
}

export function loadSpec(yamlPath = SPEC_PATH, jsonPath = SPEC_JSON_PATH): PublishedSpec {
  const yaml = readFileSync(yamlPath, 'utf8');
  const json = readFileSync(jsonPath, 'utf8');
  return { yaml, json, document: JSON.parse(json) as OpenApiDocument };
}

/**
 * The copy the request validator gets. express-openapi-validator rejects `discriminator.mapping`
 * (which the type generator needs), and without a mapping it maps discriminator values to schema
 * names; so its copy has no discriminators at all. The `oneOf` branches still differ by the
 * `enum` of the discriminating property, so what is valid is unchanged; the precise error message
 * comes from `explainBodyErrors`, which honours the discriminators.
 */
export function validatorCopy(document: OpenApiDocument): OpenApiDocument {
  return mapDiscriminators(document, () => undefined);
}

/** The document with every `discriminator` replaced by `replace(discriminator)` (dropped when undefined). */
export function mapDiscriminators(document: OpenApiDocument, replace: (discriminator: Record<string, unknown>) => unknown): OpenApiDocument {
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const entries: Array<[string, unknown]> = [];
    for (const [key, value] of Object.entries(node)) {
      if (key === 'discriminator' && value && typeof value === 'object') {
        const replaced = replace(value as Record<string, unknown>);
        if (replaced !== undefined) entries.push([key, replaced]);
      } else {
        entries.push([key, walk(value)]);
      }
    }
    return Object.fromEntries(entries);
  };
  return walk(document) as OpenApiDocument;
}

const HTTP_METHODS = ['get', 'post', 'put', 'patch', 'delete'];

/** Routes of the spec as matchers, for 404 / 405 with `Allow` before anything else runs. */
export function routeTable(document: OpenApiDocument): Array<{ pattern: RegExp; methods: string[] }> {
  return Object.entries(document.paths).map(([path, operations]) => ({
    pattern: new RegExp(`^${path.replace(/\./g, '\\.').replace(/\{[^}]+\}/g, '[^/]+')}/?$`),
    methods: Object.keys(operations)
      .filter((method) => HTTP_METHODS.includes(method))
      .map((method) => method.toUpperCase()),
  }));
}

/** The validator runs only on the OpenAI API's router; every other route takes no body it checks. */
export const VALIDATED_PREFIX = '/v1/';

/**
 * The document with only the paths under `prefix`. The validator finds a request's route by
 * compiling each of its routes' path patterns in turn, on every request, until one matches (they
 * are sorted alphabetically, so `/docs`, `/health`, `/metrics`… came before `/v1/chat/completions`);
 * the routes it is never asked about were only work per request.
 */
export function onlyPathsUnder(prefix: string, document: OpenApiDocument): OpenApiDocument {
  return { ...document, paths: Object.fromEntries(Object.entries(document.paths).filter(([path]) => path.startsWith(prefix))) };
}

/**
 * express-openapi-validator's options, the same on the event loop and on the body-check worker (so
 * a large body gets exactly the errors a small one gets). The spec itself is checked by the test
 * suite rather than at every start (`validateApiSpec: false`).
 */
export function validatorOptions(document: OpenApiDocument) {
  return {
    apiSpec: onlyPathsUnder(VALIDATED_PREFIX, validatorCopy(document)) as never,
    validateRequests: { allowUnknownQueryParameters: true },
    validateResponses: false,
    validateSecurity: false,
    ignoreUndocumented: true,
    validateApiSpec: false,
    // No operation takes a multipart body (jsonBody answers 415 to one before the validator runs);
    // left on, it adds a step to every request and an Ajv instance over the whole spec at start.
    fileUploader: false,
  };
}

/**
 * The request validator calls Node's legacy `url.parse` on every request. Until Node has printed its
 * one DEP0169 warning for that function, it captures the stack of every call to see whether the
 * caller is inside node_modules (such calls never warn): a stack trace per request, ≈ 12 µs of the
 * request path. One call from here, with deprecation output off for its duration, settles that
 * check for the process; the warning is not printed (the validator's calls would never print it).
 */
export function settleUrlParseWarning(): void {
  const quiet = process.noDeprecation;
  process.noDeprecation = true;
  try {
    legacyUrlParse('/');
  } finally {
    process.noDeprecation = quiet;
  }
}
