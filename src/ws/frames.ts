import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { ErrorObject, ValidateFunction } from 'ajv/dist/2020.js';
import type { RawData } from 'ws';
import { BadRequestError } from '../errors.ts';
import { nestsDeeperThan } from '../http/json-depth.ts';

export const WS_FRAMES_SCHEMA_PATH = fileURLToPath(new URL('../../openapi/ws-frames.schema.json', import.meta.url));

export type FrameId = string | number;
export type WsMethod = 'connect' | 'health' | 'agent.run' | 'agent.abort' | 'sessions.list' | 'sessions.history';

export interface RequestFrame {
  type: 'req';
  id: FrameId;
  method: WsMethod;
  params?: Record<string, unknown>;
}

export interface ErrorPayload {
  message: string;
  type: string;
  param: string | null;
  code: string | null;
  request_id?: string;
}

export type ResponseFrame = { type: 'res'; id: FrameId | null; ok: true; result: unknown } | { type: 'res'; id: FrameId | null; ok: false; error: ErrorPayload };

export interface EventFrame {
  type: 'event';
  event: 'agent.start' | 'agent.delta' | 'agent.tool';
  payload: Record<string, unknown>;
}

/** Validates incoming frames against openapi/ws-frames.schema.json (compiled once per gateway). */
export class FrameValidator {
  private readonly validate: ValidateFunction;

  constructor(schemaPath = WS_FRAMES_SCHEMA_PATH) {
    const schema = JSON.parse(readFileSync(schemaPath, 'utf8')) as Record<string, unknown>;
    // Loaded here rather than imported: the WebSocket (and its validator) is made at the first upgrade.
    const { Ajv2020 } = createRequire(import.meta.url)('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    const ajv = new Ajv2020({ allErrors: true, strict: false });
    ajv.addSchema(schema);
    this.validate = ajv.getSchema(`${schema.$id as string}#/$defs/request`)!;
  }

  /** The frame as a request, or a 400 naming what is wrong and where (`param` is the frame path). */
  parse(text: string, maxDepth: number): RequestFrame {
    // Nesting beyond the limit would overflow the stack of every recursive walk after the parse.
    if (nestsDeeperThan(text, maxDepth)) {
      throw new BadRequestError(`Frame nests objects and arrays deeper than ${maxDepth} levels (gateway.http.maxJsonDepth).`, { code: 'json_too_deep' });
    }
    let frame: unknown;
    try {
      frame = JSON.parse(text);
    } catch (error) {
      throw new BadRequestError(`Frame is not valid JSON: ${(error as Error).message}`, { code: 'invalid_json' });
    }
    if (this.validate(frame)) return frame as RequestFrame;
    throw describe(this.validate.errors ?? []);
  }
}

/** A plain 400 for frames that cannot be read. */
export class BadFrameError extends BadRequestError {
  constructor(message: string) {
    super(message, { code: 'invalid_frame' });
  }
}

export function messageText(data: RawData): string {
  if (Array.isArray(data)) return Buffer.concat(data).toString('utf8');
  return Buffer.from(data as Buffer).toString('utf8');
}

/** The id of a frame that failed validation, when it has a usable one, so the client can match the error. */
export function guessFrameId(text: string | undefined): FrameId | null {
  if (text === undefined) return null;
  try {
    const id = (JSON.parse(text) as { id?: unknown })?.id;
    return typeof id === 'string' || (typeof id === 'number' && Number.isInteger(id)) ? id : null;
  } catch {
    return null;
  }
}

/** Picks the most telling ajv issue: the deepest one that is not a oneOf/if summary. */
function describe(errors: ErrorObject[]): BadRequestError {
  const isChoice = (error: ErrorObject) =>
    error.instancePath === '/params' &&
    ((error.keyword === 'required' && ['message', 'messages'].includes((error.params as { missingProperty?: string }).missingProperty ?? '')) || error.keyword === 'oneOf');
  const telling = errors.filter((error) => !['oneOf', 'if', 'anyOf'].includes(error.keyword) && !isChoice(error));
  if (telling.length === 0 && errors.some(isChoice)) {
    return new BadRequestError('Invalid frame: params must have exactly one of "message" or "messages".', { param: 'params', code: 'invalid_frame' });
  }
  const pool = telling.length > 0 ? telling : errors;
  const depth = (error: ErrorObject) => error.instancePath.split('/').length;
  const deepest = pool.reduce((best, error) => (depth(error) > depth(best) ? error : best), pool[0]);
  if (!deepest) return new BadRequestError('Invalid frame.', { code: 'invalid_frame' });
  const param = toParam(deepest.instancePath, deepest);
  let problem = deepest.message ?? 'is invalid';
  if (deepest.keyword === 'additionalProperties') problem = `must not have the property "${(deepest.params as { additionalProperty: string }).additionalProperty}"`;
  if (deepest.keyword === 'enum') problem = `must be one of ${(deepest.params as { allowedValues: unknown[] }).allowedValues.join(', ')}`;
  if (deepest.keyword === 'required') problem = 'is required';
  return new BadRequestError(`Invalid frame: ${param ?? 'frame'} ${problem}.`, { param, code: 'invalid_frame' });
}

/** `/params/messages/0/role` → `params.messages[0].role`; a missing property is named too. */
function toParam(path: string, error: ErrorObject): string | null {
  const segments = path.split('/').filter(Boolean);
  if (error.keyword === 'required' && (error.params as { missingProperty?: string }).missingProperty) {
    segments.push((error.params as { missingProperty: string }).missingProperty);
  }
  if (segments.length === 0) return null;
  return segments.map((segment, index) => (/^\d+$/.test(segment) ? `[${segment}]` : index === 0 ? segment : `.${segment}`)).join('');
}
