import { Writable } from 'node:stream';
import { createLogger } from '../../src/log.ts';

/**
 * The gateway's own logger (redaction and all) writing into memory: `lines` as parsed objects,
 * `text()` as written, `events()` the `event` of each line.
 */
export function capturedLogger(level = 'debug') {
  const lines: Array<Record<string, unknown>> = [];
  const written: string[] = [];
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      const text = chunk.toString();
      written.push(text);
      for (const line of text.split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      callback();
    },
  });
  return { logger: createLogger({ level, destination }), lines, text: () => written.join(''), events: () => lines.map((line) => line.event as string) };
}
