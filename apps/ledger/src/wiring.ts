import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSerde, kafkajsRegistryClient, TOPICS } from '@waybill/contracts';
import { DAY_MS, LEDGER_TOPICS, LedgerReader, ledgerKeyPrefix, legacyLedgerLayout, type LedgerInput } from '@waybill/ledger-projections';
import { ProjectionLoop, TopicPartitions } from '@waybill/streams';
import { retry, createKafka, createMetrics, listen, type Logger, type ShutdownStep, rateLimitOf, redisShutdownStep, createRedis, registryClientOptions, dropLegacyLayout } from '@waybill/platform';
import { AlertAcks, AlertStream } from './alerts';
import type { Config } from './config';
import { loadAdminConfig } from './http/admin';
import { createLedgerApp } from './http/app';
import { alertView } from './http/views';
import { OffsetWaiter } from './offset-waiter';
import { OperationsView } from './ops/operations-view';
import { ledgerProjection } from './projector';
import { KafkaArchivedEvents, RetentionPruner } from './retention';
import { ShipmentVersionWaiter } from './version-waiter';

export const GROUP_ID = 'ledger';

/** Connects the projector and the query API; returns the steps to stop them. */
export async function start(config: Config, logger: Logger, onCrash: (err: Error) => void = (err) => logger.error({ err }, 'consumer crashed and kafkajs will not restart it')): Promise<{ server: Server; port: number; projector: ProjectionLoop<LedgerInput>; pruner: RetentionPruner; shutdown: ShutdownStep[] }> {
  const metrics = createMetrics(GROUP_ID);
  const kafka = createKafka({ clientId: config.KAFKA_CLIENT_ID ?? GROUP_ID, brokers: config.KAFKA_BROKERS, logger, config });
  const redis = createRedis(config, { maxRetriesPerRequest: 3 });
  const serde = createSerde({ registry: kafkajsRegistryClient(config.SCHEMA_REGISTRY_URL, registryClientOptions(config)) });
  await retry('registering schemas', logger, () => serde.registerAll());

  const keyPrefix = ledgerKeyPrefix(config.TOPIC_PREFIX);
  const partitions = new TopicPartitions(kafka, config.TOPIC_PREFIX, LEDGER_TOPICS, logger);
  await partitions.start();
  const archivedEvents = new KafkaArchivedEvents(kafka, config.TOPIC_PREFIX, serde);
  const reader = new LedgerReader(redis, keyPrefix, () => partitions.partitions(), { source: archivedEvents, snapshotEvery: config.SNAPSHOT_EVERY });
  const legacy = legacyLedgerLayout(keyPrefix);
  const dropped = await dropLegacyLayout(redis, legacy.offsets, legacy.pattern);
  if (dropped > 0) logger.info({ keys: dropped }, 'deleted the read models of the layout before the hash slots; the projection builds them again from the topics');
  const stream = new AlertStream(redis, `${keyPrefix}alerts`, logger);
  await stream.start();
  const acks = new AlertAcks(redis, `${config.TOPIC_PREFIX}ledger-acks`);

  const projector: ProjectionLoop<LedgerInput> = new ProjectionLoop({
    app: GROUP_ID,
    config,
    kafka,
    redis,
    topics: LEDGER_TOPICS,
    projection: ledgerProjection({
      redis,
      serde,
      keyPrefix,
      snapshotEvery: config.SNAPSHOT_EVERY,
      onShipments: (versions) => projector.events.emit('shipments', versions),
      onAlerts: (alerts) => {
        for (const alert of alerts) {
          stream.publish('alert', alertView(alert, null)).catch((err) => logger.warn({ err, alertId: alert.eventId }, 'could not publish an alert to live streams'));
        }
      },
    }),
    onCrash,
    logger,
    metrics,
  });
  await projector.start();
  const pruner = new RetentionPruner({
    redis,
    keyPrefix,
    retentionMs: config.LEDGER_RETENTION_DAYS * DAY_MS,
    intervalMs: config.LEDGER_PRUNE_INTERVAL_MS,
    ownedPartitions: () => projector.ownedPartitions().filter((p) => p.topic === TOPICS.shipmentEvents).map((p) => p.partition),
    ownedTransactionPartitions: () => projector.ownedPartitions().filter((p) => p.topic === TOPICS.accountingTransactions).map((p) => p.partition),
    logger,
    metrics,
  });
  pruner.start();
  const operations = new OperationsView(kafka, config.TOPIC_PREFIX, logger, config.OPS_POLL_MS);
  await operations.start();

  const app = createLedgerApp(
    {
      reader,
      waiter: new OffsetWaiter(reader, projector.events),
      versions: new ShipmentVersionWaiter(reader, projector.events),
      acks,
      stream,
      topicPrefix: config.TOPIC_PREFIX,
      waitForTimeoutMs: config.WAIT_FOR_TIMEOUT_MS,
      partitionsOf: (topic) => partitions.count(topic),
    },
    {
      logger,
      metrics,
      apiKeys: config.API_KEYS,
      rateLimit: rateLimitOf(config),
      readiness: projector.readiness,
      admin: { shipmentHandlerUrl: loadAdminConfig().SHIPMENT_HANDLER_URL, logger },
      ops: operations,
    },
  );
  const server = await listen(app, config.PORT);
  const port = (server.address() as AddressInfo).port;
  logger.info({ port, keyPrefix }, 'ledger listening');

  return {
    server,
    port,
    projector,
    pruner,
    shutdown: [
      { name: 'alert streams', run: () => stream.stop() },
      { name: 'partition counts', run: async () => partitions.stop() },
      { name: 'operations view', run: () => operations.stop() },
      { name: 'http', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      { name: 'retention', run: () => pruner.stop() },
      { name: 'archived events', run: () => archivedEvents.stop() },
      { name: 'projector', run: () => projector.stop() },
      redisShutdownStep(redis),
    ],
  };
}
