import { randomUUID } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { RawData, WebSocket, WebSocketServer } from 'ws';
import { takeRunSlot } from '../auth/address-limits.ts';
import type { AuthGuard } from '../auth/guard.ts';
import { AuthenticationError, GatewayError, NotFoundError, ServiceUnavailableError } from '../errors.ts';
import { toGatewayError } from '../http/errors.ts';
import { requestIdFrom } from '../http/request-context.ts';
import type { GatewayMetrics } from '../metrics/metrics.ts';
import type { Runtime } from '../runtime.ts';
import { runOverSocket } from './agent-run.ts';
import { CLOSE_GOING_AWAY, CLOSE_POLICY_VIOLATION, sendEvent, sendResponse, WS_CLOSED, type Connection } from './connection.ts';
import { BadFrameError, FrameValidator, guessFrameId, messageText, type RequestFrame } from './frames.ts';
import { startHeartbeat } from './heartbeat.ts';
import { listSessions, sessionHistory } from './session-methods.ts';
import { authenticateUpgrade, countAuthFailure, rejectUpgrade, type UpgradedConnection } from './upgrade-auth.ts';

export const WS_PATH = '/ws';
/** An upgrade without an Authorization header has this long to send `connect`. */
export const CONNECT_TIMEOUT_MS = 10_000;
/** After the shutdown grace, how long closing handshakes may take before sockets are cut. */
const CLOSE_HANDSHAKE_MS = 1_000;

export interface WsGatewayOptions {
  runtime: Runtime;
  authGuard: AuthGuard;
  metrics?: GatewayMetrics;
  validator?: FrameValidator;
}

/**
 * The gateway's WebSocket at `/ws`, sharing the HTTP server(s) and the port: same credentials and
 * lockouts as HTTP (Bearer header on the upgrade, or a first `connect` frame for browsers), JSON
 * request/response frames, and the same run code as HTTP with its deltas streamed as events.
 */
export class WsGateway {
  private readonly runtime: Runtime;
  private readonly guard: AuthGuard;
  private readonly metrics: GatewayMetrics | undefined;
  private frameValidator: FrameValidator | undefined;
  private wss: Promise<WebSocketServer> | undefined;
  private readonly connections = new Set<Connection>();
  private readonly upgradeIds = new WeakMap<IncomingMessage, string>();
  private shuttingDown = false;

  constructor(options: WsGatewayOptions) {
    this.runtime = options.runtime;
    this.guard = options.authGuard;
    this.metrics = options.metrics;
    this.frameValidator = options.validator;
  }

  /** `ws` and the frame schema are loaded at the first upgrade: a gateway without WebSocket clients never pays for them. */
  private server(): Promise<WebSocketServer> {
    this.wss ??= import('ws').then(({ WebSocketServer: Server }) => {
      const wss = new Server({ noServer: true, maxPayload: this.settings().maxPayloadBytes, clientTracking: false, perMessageDeflate: false });
      // The 101 response carries the connection's request id, as every HTTP response does.
      wss.on('headers', (headers, req) => {
        const id = this.upgradeIds.get(req);
        if (id) headers.push(`x-request-id: ${id}`);
      });
      return wss;
    });
    // A failed load is tried again at the next upgrade rather than remembered.
    this.wss.catch(() => (this.wss = undefined));
    return this.wss;
  }

  private get validator(): FrameValidator {
    this.frameValidator ??= new FrameValidator();
    return this.frameValidator;
  }

  private settings() {
    return this.runtime.current.config.gateway.ws;
  }

  get connectionCount(): number {
    return this.connections.size;
  }

  /** For `server.on('upgrade', …)` on every HTTP server of the gateway. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    socket.on('error', () => socket.destroy());
    void this.upgrade(req, socket, head).catch((error) => {
      this.runtime.logger.error({ event: 'ws.upgrade_failed', err: error }, 'WebSocket upgrade failed');
      rejectUpgrade(socket, new ServiceUnavailableError('The WebSocket upgrade failed.', { code: 'upgrade_failed' }), randomUUID());
    });
  }

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const connectionId = requestIdFrom(req.headers);
    const path = new URL(req.url ?? '/', 'http://gateway').pathname;
    if (path !== WS_PATH && path !== `${WS_PATH}/`) {
      return rejectUpgrade(socket, new NotFoundError(`Unknown route: WebSocket upgrade on ${path}; the WebSocket is at ${WS_PATH}.`, { code: 'not_found' }), connectionId);
    }
    if (this.shuttingDown) {
      return rejectUpgrade(socket, new ServiceUnavailableError('The gateway is shutting down.', { code: 'shutting_down' }), connectionId);
    }
    const upgraded = await authenticateUpgrade(req, socket, connectionId, this.runtime, this.guard, this.metrics);
    if (!upgraded) return;
    const wss = await this.server();
    if (socket.destroyed) return;
    // maxPayload is read at each upgrade, so a config reload applies to new connections.
    (wss.options as { maxPayload?: number }).maxPayload = this.settings().maxPayloadBytes;
    this.upgradeIds.set(req, connectionId);
    wss.handleUpgrade(req, socket, head, (ws) => this.accept(ws, upgraded));
  }

  private accept(ws: WebSocket, init: UpgradedConnection): void {
    const conn: Connection = { ...init, ws, alive: true, runs: new Map() };
    this.connections.add(conn);
    this.metrics?.wsConnections.inc();
    const logger = this.runtime.logger;
    logger.info({ event: 'ws.open', connectionId: conn.id, authenticated: conn.authenticated }, 'WebSocket connected');

    conn.heartbeat = startHeartbeat(conn, this.settings().heartbeatIntervalMs, logger);
    if (!conn.authenticated) {
      conn.connectTimer = setTimeout(() => {
        if (!conn.authenticated) ws.close(CLOSE_POLICY_VIOLATION, 'connect timeout');
      }, CONNECT_TIMEOUT_MS);
      conn.connectTimer.unref();
    }

    ws.on('message', (data, isBinary) => void this.onMessage(conn, data, isBinary));
    ws.on('error', (error) => {
      logger.info({ event: 'ws.error', connectionId: conn.id, code: (error as { code?: string }).code, reason: error.message }, 'WebSocket error');
    });
    ws.on('close', (code, reason) => {
      clearInterval(conn.heartbeat);
      clearTimeout(conn.connectTimer);
      for (const controller of conn.runs.values()) controller.abort(new Error('WebSocket closed'));
      this.connections.delete(conn);
      this.metrics?.wsConnections.dec();
      logger.info({ event: 'ws.close', connectionId: conn.id, code, reason: reason.toString('utf8') || undefined }, 'WebSocket closed');
    });
  }

  private async onMessage(conn: Connection, data: RawData, isBinary: boolean): Promise<void> {
    const text = isBinary ? undefined : messageText(data);
    let frame: RequestFrame;
    try {
      if (text === undefined) throw new BadFrameError('Frames must be JSON text messages, not binary.');
      frame = this.validator.parse(text, this.runtime.current.config.gateway.http.maxJsonDepth);
    } catch (error) {
      return sendResponse(conn, guessFrameId(text), this.asGatewayError(error));
    }
    if (!conn.authenticated && frame.method !== 'connect') {
      return sendResponse(conn, frame.id, new AuthenticationError('Not connected: authenticate first with {"type":"req","method":"connect","params":{"token":"<token>"}} or an Authorization header on the upgrade.', { code: 'not_connected' }));
    }
    try {
      switch (frame.method) {
        case 'connect':
          return await this.connect(conn, frame);
        case 'health':
          return sendResponse(conn, frame.id, undefined, { ok: true, status: 'live' });
        case 'agent.run':
          return await this.run(conn, frame);
        case 'agent.abort':
          return this.abort(conn, frame);
        case 'sessions.list':
          return await listSessions(conn, frame, this.runtime.store);
        case 'sessions.history':
          return await sessionHistory(conn, frame, this.runtime.store);
      }
    } catch (error) {
      sendResponse(conn, frame.id, this.asGatewayError(error));
    }
  }

  private async connect(conn: Connection, frame: RequestFrame): Promise<void> {
    if (!conn.authenticated) {
      const token = (frame.params as { token: string }).token;
      const outcome = await this.guard.check(conn.address, `Bearer ${token}`);
      if (!outcome.ok) {
        countAuthFailure(this.metrics, outcome.error, 'invalid');
        sendResponse(conn, frame.id, outcome.error);
        // A wrong secret ends the connection: one guess per socket, and every guess is counted.
        conn.ws.close(CLOSE_POLICY_VIOLATION, outcome.error.kind === 'rate_limited' ? 'locked out' : 'authentication failed');
        return;
      }
      conn.authenticated = true;
      clearTimeout(conn.connectTimer);
    }
    const { maxPayloadBytes, heartbeatIntervalMs } = this.settings();
    sendResponse(conn, frame.id, undefined, {
      connectionId: conn.id,
      methods: ['health', 'agent.run', 'agent.abort', 'sessions.list', 'sessions.history'],
      events: ['agent.start', 'agent.delta', 'agent.tool'],
      policy: { maxPayloadBytes, heartbeatIntervalMs },
    });
  }

  private async run(conn: Connection, frame: RequestFrame): Promise<void> {
    if (this.shuttingDown) throw new ServiceUnavailableError('The gateway is shutting down; no new runs are accepted.', { code: 'shutting_down' });
    const release = takeRunSlot(this.runtime.runsByAddress, conn.address, this.runtime.current.config.gateway.http.maxConcurrentRunsPerAddress, () =>
      this.metrics?.addressLimitRefusals.inc({ limit: 'runs', transport: 'ws' }),
    );
    const controller = new AbortController();
    let runId: string | undefined;
    try {
      await runOverSocket({
        runtime: this.runtime,
        frame,
        signal: controller.signal,
        started: (id) => {
          runId = id;
          conn.runs.set(id, controller);
          this.metrics?.activeStreams.inc({ transport: 'ws' });
        },
        event: (event, payload) => sendEvent(conn, event, payload),
        reply: (error, result, requestId) => sendResponse(conn, frame.id, error, result, requestId),
        log: (fields) => this.runtime.plainLogger.info({ event: 'ws.run', connectionId: conn.id, ...fields }, 'WebSocket run ended'),
      });
    } finally {
      release();
      if (runId) {
        conn.runs.delete(runId);
        this.metrics?.activeStreams.dec({ transport: 'ws' });
      }
    }
    // During a shutdown a busy socket closes as soon as its last run has answered.
    if (this.shuttingDown && conn.runs.size === 0) conn.ws.close(CLOSE_GOING_AWAY, 'gateway shutting down');
  }

  private abort(conn: Connection, frame: RequestFrame): void {
    const { runId } = frame.params as { runId: string };
    const controller = conn.runs.get(runId);
    if (!controller) throw new NotFoundError(`No run ${runId} is in flight on this connection.`, { param: 'params.runId', code: 'run_not_found' });
    controller.abort(new Error('aborted by the client'));
    sendResponse(conn, frame.id, undefined, { runId, aborted: true });
  }

  private asGatewayError(error: unknown): GatewayError {
    return toGatewayError(error, this.runtime.logger);
  }

  /**
   * First step of a graceful shutdown: no new connections or runs; idle sockets close now with
   * 1001, busy ones with 1001 as soon as their last run ends.
   */
  beginShutdown(): void {
    this.shuttingDown = true;
    for (const conn of this.connections) {
      if (conn.runs.size === 0) conn.ws.close(CLOSE_GOING_AWAY, 'gateway shutting down');
    }
  }

  /** Last step: aborts runs still going after the grace period, closes with 1001, cuts what does not close. */
  async close(): Promise<void> {
    this.shuttingDown = true;
    const closing = [...this.connections].map(
      (conn) =>
        new Promise<void>((resolve) => {
          if (conn.ws.readyState === WS_CLOSED) return resolve();
          conn.ws.once('close', () => resolve());
          for (const controller of conn.runs.values()) controller.abort(new Error('gateway shutting down'));
          conn.ws.close(CLOSE_GOING_AWAY, 'gateway shutting down');
          setTimeout(() => {
            conn.ws.terminate();
            resolve();
          }, CLOSE_HANDSHAKE_MS).unref();
        }),
    );
    await Promise.all(closing);
    if (this.wss) (await this.wss).close();
  }
}
