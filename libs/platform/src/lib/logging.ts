import { AsyncLocalStorage } from 'node:async_hooks';
import pino, { Logger } from 'pino';

interface LogContext {
  traceId?: string;
  [key: string]: unknown;
}

const context = new AsyncLocalStorage<LogContext>();

/** Runs `fn` with `fields` (typically a traceId) stamped on every log line written inside it. */
export function withLogContext<T>(fields: LogContext, fn: () => T): T {
  return context.run({ ...context.getStore(), ...fields }, fn);
}

export function createLogger(app: string, level = process.env.LOG_LEVEL ?? 'info'): Logger {
  return pino({
    name: app,
    level,
    base: { app, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    mixin: () => context.getStore() ?? {},
    // Secrets by name, wherever an error or a config object carries them (SECRET_VARIABLES too).
    redact: {
      paths: [
        'req.headers["x-api-key"]',
        'req.headers.authorization',
        'apiKey',
        'password',
        '*.password',
        'sasl',
        '*.sasl',
        'auth',
        '*.auth',
        'KAFKA_SASL_PASSWORD',
        'KAFKA_SSL_KEY_PASSWORD',
        'REDIS_PASSWORD',
        'SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO',
        '*.KAFKA_SASL_PASSWORD',
        '*.KAFKA_SSL_KEY_PASSWORD',
        '*.REDIS_PASSWORD',
        '*.SCHEMA_REGISTRY_BASIC_AUTH_USER_INFO',
      ],
      censor: '[redacted]',
    },
  });
}

export type { Logger };
