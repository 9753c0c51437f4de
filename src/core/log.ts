import pino, { type Logger } from 'pino';

/**
 * JSON log lines on stdout. Each thread makes its own logger writing straight to fd 1, so a
 * busy worker never queues its lines behind the main thread.
 */
export function createLogger(level: string, bindings: Record<string, unknown> = {}): Logger {
  return pino(
    {
      level,
      base: { service: 'zipbank-ingester', pid: process.pid, ...bindings },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      // A last guard: whatever object reaches a log line, these fields never show their value.
      redact: {
        paths: [
          'databaseUrl',
          '*.databaseUrl',
          'password',
          '*.password',
          '*.settings',
          'config.kafka',
          '*["sasl.password"]',
          '*["ssl.key.password"]',
        ],
        censor: '***',
      },
    },
    pino.destination({ dest: 1, sync: true }),
  );
}

export type { Logger };
