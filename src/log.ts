import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines on stdout. Secrets are redacted by path in case any code ever logs a config or a header. */
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
    options.destination ?? process.stdout,
  );
}

export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
