import { existsSync, readFileSync } from 'node:fs';
import { z } from 'zod';
import { baseConfigShape, checkKafka, ConfigError, ConnectionRefusedError, createLogger, installShutdown, kafkaSecurity, loadConfig } from '@waybill/platform';
import { parseBasicAuthUsers, startRegistry } from './index';

const pemFile = z.string().min(1).refine((path) => existsSync(path), 'no such file (a PEM file path is expected)').optional();

const configSchema = z.object({
  PORT: baseConfigShape.PORT.default(8081),
  KAFKA_BROKERS: baseConfigShape.KAFKA_BROKERS,
  SCHEMAS_TOPIC: z.string().min(1).default('_schemas'),
  SCHEMAS_REPLICATION_FACTOR: z.coerce.number().int().min(1).default(1),
  HOST: z.string().min(1).default('0.0.0.0'),
  LOG_LEVEL: baseConfigShape.LOG_LEVEL,
  SHUTDOWN_TIMEOUT_MS: baseConfigShape.SHUTDOWN_TIMEOUT_MS,
  // How the registry itself reaches Kafka: the same variables as every app.
  KAFKA_SECURITY_PROTOCOL: baseConfigShape.KAFKA_SECURITY_PROTOCOL,
  KAFKA_SASL_MECHANISM: baseConfigShape.KAFKA_SASL_MECHANISM,
  KAFKA_SASL_USERNAME: baseConfigShape.KAFKA_SASL_USERNAME,
  KAFKA_SASL_PASSWORD: baseConfigShape.KAFKA_SASL_PASSWORD,
  KAFKA_SSL_CA_LOCATION: baseConfigShape.KAFKA_SSL_CA_LOCATION,
  KAFKA_SSL_CERTIFICATE_LOCATION: baseConfigShape.KAFKA_SSL_CERTIFICATE_LOCATION,
  KAFKA_SSL_KEY_LOCATION: baseConfigShape.KAFKA_SSL_KEY_LOCATION,
  KAFKA_SSL_KEY_PASSWORD: baseConfigShape.KAFKA_SSL_KEY_PASSWORD,
  /** Serve HTTPS: the PEM certificate (chain) and its key. */
  REGISTRY_TLS_CERTIFICATE_LOCATION: pemFile,
  REGISTRY_TLS_KEY_LOCATION: pemFile,
  /** Require basic auth: `user:sha256-hex-of-password` entries, comma separated. */
  REGISTRY_BASIC_AUTH_USERS: z.string().min(1).optional(),
});

async function main(): Promise<void> {
  const config = loadConfig(configSchema);
  if ((config.REGISTRY_TLS_CERTIFICATE_LOCATION === undefined) !== (config.REGISTRY_TLS_KEY_LOCATION === undefined)) {
    throw new ConfigError(['REGISTRY_TLS_CERTIFICATE_LOCATION and REGISTRY_TLS_KEY_LOCATION: set both (HTTPS) or neither (HTTP)']);
  }
  const users = config.REGISTRY_BASIC_AUTH_USERS === undefined ? undefined : parseBasicAuthUsers(config.REGISTRY_BASIC_AUTH_USERS);
  const tls =
    config.REGISTRY_TLS_CERTIFICATE_LOCATION && config.REGISTRY_TLS_KEY_LOCATION
      ? { cert: readFileSync(config.REGISTRY_TLS_CERTIFICATE_LOCATION, 'utf8'), key: readFileSync(config.REGISTRY_TLS_KEY_LOCATION, 'utf8') }
      : undefined;
  await checkKafka(config);
  const logger = createLogger('registry', config.LOG_LEVEL);
  const registry = await startRegistry({
    port: config.PORT,
    host: config.HOST,
    brokers: config.KAFKA_BROKERS,
    topic: config.SCHEMAS_TOPIC,
    replicationFactor: config.SCHEMAS_REPLICATION_FACTOR,
    kafkaSecurity: kafkaSecurity(config),
    tls,
    users,
    logger,
  });
  logger.info({ url: registry.url, port: registry.port, topic: config.SCHEMAS_TOPIC, https: tls !== undefined, basicAuth: users !== undefined }, 'schema registry listening');
  installShutdown(logger, [{ name: 'schema registry', run: () => registry.close() }], config.SHUTDOWN_TIMEOUT_MS);
}

main().catch((err: unknown) => {
  // The logger may not exist yet (bad configuration), so report on stderr directly.
  process.stderr.write(`registry: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(err instanceof ConfigError || err instanceof ConnectionRefusedError ? 2 : 1);
});
