import { describe, expect, it } from 'vitest';
import { plainLinesLogger } from '../src/log.ts';
import { capturedLogger } from './helpers/captured-logger.ts';

describe('log lines', () => {
  it('redacts secrets by key, at the top of a line and one object down', () => {
    const { logger, lines } = capturedLogger('info');
    logger.info({ event: 'x', token: 't0p', err: { headers: { authorization: 'Bearer abc' } }, provider: { apiKey: 'sk-1', name: 'p' } });
    expect(lines[0]).toMatchObject({ event: 'x', token: '[redacted]', err: { headers: { authorization: '[redacted]' } }, provider: { apiKey: '[redacted]', name: 'p' } });
    expect(JSON.stringify(lines)).not.toMatch(/t0p|Bearer abc|sk-1/);
  });

  it('writes plain lines to the same destination at the same level, and leaves the redacting logger redacting', () => {
    const { logger, lines } = capturedLogger('info');
    const plain = plainLinesLogger(logger);
    plain.info({ event: 'http.request', requestId: 'r1', method: 'POST', path: '/v1/chat/completions', status: 200, durationMs: 1.5 });
    plain.debug({ event: 'below.level' });
    logger.info({ event: 'after', password: 'hunter2' });
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatchObject({ level: 'info', event: 'http.request', requestId: 'r1', method: 'POST', path: '/v1/chat/completions', status: 200, durationMs: 1.5 });
    expect(typeof lines[0].time).toBe('string');
    expect(lines[1]).toMatchObject({ event: 'after', password: '[redacted]' });
  });
});
