import { ConfigError, createLogger, installShutdown, loadConfig } from '@waybill/platform';
import { configSchema } from './config';
import { start } from './wiring';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig(configSchema);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`accounting-handler: ${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = createLogger('accounting-handler', config.LOG_LEVEL);
  const { shutdown } = await start(config, logger);
  installShutdown(logger, shutdown, config.SHUTDOWN_TIMEOUT_MS);
}

main().catch((err) => {
  process.stderr.write(`accounting-handler failed to start: ${err?.stack ?? err}\n`);
  process.exit(1);
});
