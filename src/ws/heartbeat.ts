import type { Logger } from 'pino';
import type { Connection } from './connection.ts';

/** Pings the peer every `intervalMs` and cuts a peer that has not answered the previous ping; the returned timer does not keep the process alive. */
export function startHeartbeat(conn: Connection, intervalMs: number, logger: Logger): NodeJS.Timeout {
  const ws = conn.ws;
  const heartbeat = setInterval(() => {
    if (!conn.alive) {
      // After a stall of the event loop, this timer runs before the loop has read what arrived
      // meanwhile (timers come before I/O in a loop turn): the verdict waits for that read, so a
      // peer whose pong is already here is not dropped for the gateway's own delay.
      setImmediate(() => {
        if (conn.alive || ws.readyState !== ws.OPEN) return;
        logger.info({ event: 'ws.heartbeat_timeout', connectionId: conn.id }, 'WebSocket peer stopped answering pings');
        ws.terminate();
      });
      return;
    }
    conn.alive = false;
    ws.ping();
  }, intervalMs);
  heartbeat.unref();
  ws.on('pong', () => {
    conn.alive = true;
  });
  return heartbeat;
}
