import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Log lines are written in batches of this many bytes, or after at most LOG_FLUSH_MS, whichever comes
 * first: one write per line (each a trip through libuv's thread pool) was about a tenth of the
 * gateway's CPU per request. The batch is written at exit too (pino flushes its destination).
 */
const LOG_BATCH_BYTES = 4096;
const LOG_FLUSH_MS = 100;

/**
 * JSON lines on stdout. Secrets are redacted by path in case any code ever logs a config or a
 * header. Stdout is written asynchronously (sonic-boom, flushed at exit): a synchronous write per
 * line was one system call per request on the request path.
 */
export function createLogger(options: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: undefined,
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: ['authorization', 'headers.authorization', '*.headers.authorization', 'token', 'password', 'apiKey', '*.token', '*.password', '*.apiKey', 'secret', '*.secret'],
        censor: '[redacted]',
      },
    },
    options.destination ?? pino.destination({ dest: 1, sync: false, minLength: LOG_BATCH_BYTES, periodicFlush: LOG_FLUSH_MS }),
  );
}

/**
 * The same destination without the redaction scan, for the lines written per request or per tool
 * call whose every field the gateway sets itself from values that are never secrets (ids, method,
 * path, status, names, outcomes, durations; never an object a caller passed in). With wildcard
 * paths pino runs every field of every line through the redactor, which made such a line cost three
 * times what it does without (about 36 against 11 µs in a loop of them). Anything else, and every
 * line that carries arguments, results, errors or config, goes through the redacting logger.
 */
export function plainLinesLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: [] } });
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** The log level a command runs at: --verbose, else LOG_LEVEL, else the command's own default; an unknown LOG_LEVEL throws. */
export function logLevel(env: Record<string, string | undefined>, verbose: boolean | undefined, fallback: string): string {
  if (verbose) return 'debug';
  const wanted = env.LOG_LEVEL?.trim().toLowerCase();
  if (!wanted) return fallback;
  if (!LEVELS.includes(wanted)) throw new Error(`LOG_LEVEL ${JSON.stringify(env.LOG_LEVEL)} is not a log level; use one of ${LEVELS.join(', ')}`);
  return wanted;
}
