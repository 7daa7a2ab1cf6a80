import type { z } from 'zod';
import { loadConfig } from './config';
import { ConfigError } from './errors';
import { createLogger, type Logger } from './logging';
import { ConnectionRefusedError, preflight } from './preflight';
import { installShutdown, type ShutdownStep } from './shutdown';

export interface AppStart<Config> {
  (config: Config, logger: Logger, onCrash: (err: Error) => void): Promise<{ shutdown: ShutdownStep[] }>;
}

/**
 * Every app's `main`: validate the environment (exit 2 naming every bad variable), try each
 * service once (exit 2 with one line when a credential or certificate is refused), start, and
 * stop gracefully on SIGTERM/SIGINT. A crashed consumer loop exits 1 rather than serving a
 * half-dead process, so the supervisor (npm start, compose) restarts it.
 */
export function runApp<S extends z.ZodTypeAny>(name: string, configSchema: S, start: AppStart<z.infer<S>>, uses: { redis?: boolean } = {}): void {
  let config: z.infer<S>;
  try {
    config = loadConfig(configSchema);
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err;
    process.stderr.write(`${name}: ${err.message}\n`);
    process.exit(2);
  }
  const logger = createLogger(name, config.LOG_LEVEL);
  const onCrash = (err: Error) => {
    logger.fatal({ err }, 'consumer loop crashed; exiting');
    process.exit(1);
  };
  // A refused password or an untrusted certificate is final: one line and exit 2 (like a bad
  // variable), not minutes of retries. A service that is merely not up yet passes the preflight.
  preflight(config, { redis: uses.redis })
    .then(() => start(config, logger, onCrash))
    .then(
      ({ shutdown }) => void installShutdown(logger, shutdown, config.SHUTDOWN_TIMEOUT_MS),
      (err: Error) => {
        if (err instanceof ConnectionRefusedError) {
          process.stderr.write(`${name}: ${err.message}\n`);
          process.exit(2);
        }
        process.stderr.write(`${name} failed to start: ${err?.stack ?? err}\n`);
        process.exit(1);
      },
    );
}
