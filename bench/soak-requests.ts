// The soak's request mix (bench/soak.ts): what each kind of request is, and which kind the n-th
// request is. Deterministic in the request's index, so two runs send the same sequence.

export const KINDS = ['stateless', 'stateless-stream', 'stateful', 'stateful-stream', 'new-session', 'responses', 'responses-stream', 'abort', 'bad-auth'] as const;
export type Kind = (typeof KINDS)[number];

/** Twenty requests in the order they repeat: mostly chat completions, a fifth stateful, one in ten hanging up mid-stream, one in ten with a wrong token. */
const CYCLE: Kind[] = [
  'stateless', 'stateless-stream', 'stateful', 'bad-auth', 'stateless', 'abort', 'stateful-stream', 'responses', 'stateless-stream', 'new-session',
  'stateless', 'stateless-stream', 'stateful', 'bad-auth', 'stateless', 'abort', 'stateful-stream', 'responses-stream', 'stateless-stream', 'stateful',
];

/** Sessions the stateful requests rotate through: each grows by a turn every few seconds for the whole run. */
const SESSIONS = 500;

export function pickKind(index: number): Kind {
  return CYCLE[index % CYCLE.length];
}

/** A well-mixed 32-bit hash of the index (addresses and sessions spread, yet the same every run). */
function mix(index: number): number {
  let x = (index + 0x9e3779b9) >>> 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b) >>> 0;
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35) >>> 0;
  return (x ^ (x >>> 16)) >>> 0;
}

/**
 * The client address the request claims (X-Forwarded-For; the gateway trusts its one proxy).
 * Good requests come from 1,000 addresses; wrong tokens from any of 65,536, so the failed-auth
 * limiter keeps an entry per recent address, and from 16 that fail often enough to be locked out.
 */
function clientAddress(kind: Kind, index: number): string {
  const h = mix(index);
  // One wrong token in four comes from 16 repeat offenders, which get locked out (429).
  if (kind === 'bad-auth') return h % 4 === 0 ? `10.66.0.${h % 16}` : `10.200.${(h >>> 8) & 0xff}.${h & 0xff}`;
  const n = h % 1000;
  return `10.1.${n >>> 8}.${n & 0xff}`;
}

export interface SoakRequest {
  path: string;
  stream: boolean;
  headers: Record<string, string>;
  body: string;
}

export function requestFor(kind: Kind, index: number, token: string): SoakRequest {
  const headers = {
    'content-type': 'application/json',
    authorization: `Bearer ${kind === 'bad-auth' ? `wrong-${index}` : token}`,
    'x-forwarded-for': clientAddress(kind, index),
  };
  const question = `Question ${index}: what is the status of ticket ${mix(index) % 100_000}?`;
  if (kind === 'responses' || kind === 'responses-stream') {
    const stream = kind === 'responses-stream';
    return { path: '/v1/responses', stream, headers, body: JSON.stringify({ model: 'openclaw', input: question, stream }) };
  }
  const stream = kind === 'stateless-stream' || kind === 'stateful-stream' || kind === 'new-session' || kind === 'abort';
  const body: Record<string, unknown> = { model: 'openclaw', stream, messages: [{ role: 'user', content: question }] };
  if (kind === 'stateful' || kind === 'stateful-stream' || (kind === 'abort' && index % 2 === 0)) body.user = `soak-${mix(index) % SESSIONS}`;
  if (kind === 'new-session') body.user = `soak-new-${index}`;
  return { path: '/v1/chat/completions', stream, headers, body: JSON.stringify(body) };
}
