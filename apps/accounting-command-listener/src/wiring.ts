import type { Server } from 'node:http';
import { createSerde, kafkajsRegistryClient, prefixedTopics, UndecodableMessageError } from '@waybill/contracts';
import { createHttpApp, createKafka, createMetrics, jsonErrorHandler, listen, openApiDocument, type Logger, type ShutdownStep, rateLimitOf, redisShutdownStep, createRedis, registryClientOptions } from '@waybill/platform';
import { processorLoopSettings, runProcessor } from '@waybill/streams';
import type { Config } from './config';
import { accountStore, transactionProcessor } from './transaction-processor';

export const GROUP_ID = 'accounting-command-listener';

/** Starts the command loop and its health/metrics endpoint; returns the steps to stop it. */
export async function start(config: Config, logger: Logger, onCrash: (err: Error) => void): Promise<{ server: Server; shutdown: ShutdownStep[] }> {
  const metrics = createMetrics(GROUP_ID);
  const kafka = createKafka({ clientId: config.KAFKA_CLIENT_ID ?? GROUP_ID, brokers: config.KAFKA_BROKERS, logger, config });
  const redis = createRedis(config, { maxRetriesPerRequest: 3 });
  const serde = createSerde({ registry: kafkajsRegistryClient(config.SCHEMA_REGISTRY_URL, registryClientOptions(config)) });

  const topics = prefixedTopics(config.TOPIC_PREFIX);
  const groupId = config.TOPIC_PREFIX + GROUP_ID;
  const runner = await runProcessor({
    kafka,
    groupId,
    inputTopic: topics.accountingCommands,
    outputTopics: [topics.accountingTransactions, topics.accountingOutcomes],
    processor: transactionProcessor(serde, topics, logger),
    store: accountStore(serde, topics),
    redis,
    keyPrefix: groupId,
    transactionalIdPrefix: groupId,
    decodeErrorClass: UndecodableMessageError,
    logger,
    metrics,
    ...processorLoopSettings(config),
    onCrash,
  });

  let joined = false;
  void runner.ready.then(() => (joined = true)).catch(() => undefined);
  const { app } = createHttpApp({
    logger,
    metrics,
    apiKeys: config.API_KEYS,
    rateLimit: rateLimitOf(config),
    openApi: openApiDocument({ title: 'Waybill accounting-command-listener', description: 'Decides accounting commands (accounting.commands → accounting.transactions and accounting.outcomes, one Kafka transaction each). Its HTTP port serves only health, readiness, metrics and this document.' }),
    readiness: [
      { name: 'consumer group', check: () => joined },
      { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
    ],
  });
  app.use(jsonErrorHandler(logger));
  const server = await listen(app, config.PORT);
  logger.info({ port: config.PORT }, 'accounting-command-listener running');

  return {
    server,
    shutdown: [
      { name: 'command loop', run: () => runner.stop() },
      { name: 'http', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      redisShutdownStep(redis),
    ],
  };
}
