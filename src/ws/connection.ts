import type { WebSocket } from 'ws';
import type { GatewayError } from '../errors.ts';
import { errorBody } from '../http/errors.ts';
import type { EventFrame, FrameId, ResponseFrame } from './frames.ts';

export const CLOSE_GOING_AWAY = 1001;
export const CLOSE_POLICY_VIOLATION = 1008;

// WebSocket readyState values (the `ws` module is loaded lazily, so not its constants).
const WS_OPEN = 1;
export const WS_CLOSED = 3;

export interface Connection {
  id: string;
  ws: WebSocket;
  address: string;
  authenticated: boolean;
  alive: boolean;
  runs: Map<string, AbortController>;
  heartbeat?: NodeJS.Timeout;
  connectTimer?: NodeJS.Timeout;
}

/** Errors carry the run's request id, or for other frames the connection's (the upgrade's `x-request-id`). */
export function sendResponse(conn: Connection, id: FrameId | null, error: GatewayError | undefined, result?: unknown, requestId: string = conn.id): void {
  const frame: ResponseFrame = error ? { type: 'res', id, ok: false, error: errorBody(error, requestId).error } : { type: 'res', id, ok: true, result: result ?? {} };
  send(conn.ws, frame);
}

export function sendEvent(conn: Connection, event: EventFrame['event'], payload: Record<string, unknown>): void {
  send(conn.ws, { type: 'event', event, payload } satisfies EventFrame);
}

function send(ws: WebSocket, frame: ResponseFrame | EventFrame): void {
  if (ws.readyState === WS_OPEN) ws.send(JSON.stringify(frame));
}
