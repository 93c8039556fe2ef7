import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

/**
 * JSON lines on stdout (journald keeps them). Anything that looks like a secret is redacted
 * wherever it appears in a logged object, so a config or connection error cannot leak one.
 */
export function createLogger(level: LogLevel, destination?: DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'harbinger' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          'password',
          '*.password',
          '*.*.password',
          'authorization',
          '*.authorization',
          'headers.authorization',
          // database targets: a DSN may carry the password (postgres://user:secret@host/db)
          'dsn',
          '*.dsn',
          '*.*.dsn',
          'connectionString',
          '*.connectionString',
          'uri',
          '*.uri',
        ],
        censor: '[redacted]',
      },
    },
    // Synchronous writes: the agent logs little, and a line written before a crash is not lost.
    destination ?? pino.destination({ fd: 1, sync: true }),
  );
}
