import { z } from 'zod';
import { baseConfigShape, createLogger, installShutdown, loadConfig } from '@waybill/platform';
import { startRegistry } from './index';

const configSchema = z.object({
  PORT: baseConfigShape.PORT.default(8081),
  KAFKA_BROKERS: baseConfigShape.KAFKA_BROKERS,
  SCHEMAS_TOPIC: z.string().min(1).default('_schemas'),
  SCHEMAS_REPLICATION_FACTOR: z.coerce.number().int().min(1).default(1),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: baseConfigShape.LOG_LEVEL,
  SHUTDOWN_TIMEOUT_MS: baseConfigShape.SHUTDOWN_TIMEOUT_MS,
});

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  const logger = createLogger('registry', config.LOG_LEVEL);
  const registry = await startRegistry({
    port: config.PORT,
    host: config.HOST,
    brokers: config.KAFKA_BROKERS,
    topic: config.SCHEMAS_TOPIC,
    replicationFactor: config.SCHEMAS_REPLICATION_FACTOR,
    logger,
  });
  logger.info({ url: registry.url, port: registry.port, topic: config.SCHEMAS_TOPIC }, 'schema registry listening');
  installShutdown(logger, [{ name: 'schema registry', run: () => registry.close() }], config.SHUTDOWN_TIMEOUT_MS);
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad configuration), so report on stderr directly.
  process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
