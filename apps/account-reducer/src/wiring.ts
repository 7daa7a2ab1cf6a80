import type { Server } from 'node:http';
import { createSerde, kafkajsRegistryClient, TOPICS } from '@waybill/contracts';
import { createHttpApp, createKafka, createMetrics, jsonErrorHandler, listen, type Logger, type ShutdownStep, rateLimitOf, redisShutdownStep, createRedis, registryClientOptions, dropLegacyLayout } from '@waybill/platform';
import { ProjectionLoop, TopicPartitions } from '@waybill/streams';
import { balanceProjection } from './balance-projector';
import { BalanceReads } from './balance-reads';
import { HistoryWindow, KafkaArchivedTransactions } from './history-window';
import { readModelKeys } from './read-model';
import { openApiDocument } from './http/openapi';
import { balanceRoutes } from './http/routes';
import type { Config } from './config';

export const GROUP_ID = 'account-reducer';

/** Starts the balance loop and its health/metrics endpoint; returns the steps to stop it. */
export async function start(config: Config, logger: Logger, onCrash: (err: Error) => void): Promise<{ server: Server; shutdown: ShutdownStep[] }> {
  const metrics = createMetrics(GROUP_ID);
  const kafka = createKafka({ clientId: config.KAFKA_CLIENT_ID ?? GROUP_ID, brokers: config.KAFKA_BROKERS, logger, config });
  const redis = createRedis(config, { maxRetriesPerRequest: 3 });
  const serde = createSerde({ registry: kafkajsRegistryClient(config.SCHEMA_REGISTRY_URL, registryClientOptions(config)) });

  const keys = readModelKeys(config.TOPIC_PREFIX);
  const dropped = await dropLegacyLayout(redis, keys.legacy.offsets, keys.legacy.pattern);
  if (dropped > 0) logger.info({ keys: dropped }, 'deleted the balances of the layout before the hash slots; the loop projects them again from the topic');

  const projector = new ProjectionLoop({
    app: GROUP_ID,
    config,
    kafka,
    redis,
    topics: [TOPICS.accountingTransactions],
    projection: balanceProjection({ redis, serde, topicPrefix: config.TOPIC_PREFIX, logger }),
    consumer: { maxWaitTimeInMs: 250 },
    onCrash,
    logger,
    metrics,
  });
  await projector.start();
  const partitions = new TopicPartitions(kafka, config.TOPIC_PREFIX, [TOPICS.accountingTransactions], logger);
  await partitions.start();
  const historyWindow = new HistoryWindow({
    redis,
    topicPrefix: config.TOPIC_PREFIX,
    retentionDays: config.HISTORY_RETENTION_DAYS,
    intervalMs: config.HISTORY_PRUNE_INTERVAL_MS,
    ownedPartitions: () => projector.ownedPartitions().map(({ partition }) => partition),
    logger,
    metrics,
  });
  historyWindow.start();
  const archivedTransactions = new KafkaArchivedTransactions(kafka, config.TOPIC_PREFIX, serde);

  const { app, authenticated } = createHttpApp({
    logger,
    metrics,
    apiKeys: config.API_KEYS,
    rateLimit: rateLimitOf(config),
    openApi: openApiDocument(),
    readiness: projector.readiness,
  });
  app.use(authenticated, balanceRoutes(new BalanceReads(redis, config.TOPIC_PREFIX, () => partitions.partitions(), archivedTransactions), { waitForTimeoutMs: config.WAIT_FOR_TIMEOUT_MS }));
  app.use(jsonErrorHandler(logger));
  const server = await listen(app, config.PORT);
  logger.info({ port: config.PORT }, 'account-reducer running');

  return {
    server,
    shutdown: [
      { name: 'history window', run: () => historyWindow.stop() },
      { name: 'balance loop', run: () => projector.stop() },
      { name: 'archived transactions reader', run: () => archivedTransactions.stop() },
      { name: 'partition counts', run: () => partitions.stop() },
      { name: 'http', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      redisShutdownStep(redis),
    ],
  };
}
