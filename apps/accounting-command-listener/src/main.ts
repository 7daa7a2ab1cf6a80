import { ConfigError, createLogger, installShutdown, loadConfig } from '@waybill/platform';
import { configSchema } from './config';
import { start } from './wiring';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(configSchema);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`accounting-command-listener: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('accounting-command-listener', config.LOG_LEVEL);
  // A crashed loop must not look alive: exit, and let the supervisor (npm start, compose) restart it.
  const onCrash = (err: Error) => {
    logger.fatal({ err }, 'command listener loop crashed');
    process.exit(1);
  };
  const { shutdown } = await start(config, logger, onCrash);
  installShutdown(logger, shutdown, config.SHUTDOWN_TIMEOUT_MS);
}

main().catch((err) => {
  process.stderr.write(`accounting-command-listener failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
