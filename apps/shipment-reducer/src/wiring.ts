import type { Server } from 'node:http';
import { createSerde, kafkajsRegistryClient, prefixedTopics, UndecodableMessageError } from '@waybill/contracts';
import { createHttpApp, createKafka, createMetrics, jsonErrorHandler, listen, openApiDocument, type Logger, type ShutdownStep, rateLimitOf, redisShutdownStep, createRedis, registryClientOptions } from '@waybill/platform';
import { processorLoopSettings, runProcessor } from '@waybill/streams';
import type { Config } from './config';
import { observationBadRecordPolicy, observationIntake } from './observation-intake';
import { shipmentProcessor, shipmentStore } from './shipment-processor';

export const GROUP_ID = 'shipment-reducer';
/** The group of the loop that turns observations into RecordObservation commands. */
export const INTAKE_GROUP_ID = 'shipment-reducer-observations';

/** Starts the reducer loop and its health/metrics endpoint; returns the steps to stop it. */
export async function start(config: Config, logger: Logger, onCrash: (err: Error) => void): Promise<{ server: Server; shutdown: ShutdownStep[] }> {
  const metrics = createMetrics(GROUP_ID);
  const kafka = createKafka({ clientId: config.KAFKA_CLIENT_ID ?? GROUP_ID, brokers: config.KAFKA_BROKERS, logger, config });
  const redis = createRedis(config, { maxRetriesPerRequest: 3 });
  const serde = createSerde({ registry: kafkajsRegistryClient(config.SCHEMA_REGISTRY_URL, registryClientOptions(config)) });

  const topics = prefixedTopics(config.TOPIC_PREFIX);
  const groupId = config.TOPIC_PREFIX + GROUP_ID;
  // Both loops of this process (commands, and the intake of observations) run with the same settings.
  const loop = {
    kafka,
    logger,
    metrics,
    ...processorLoopSettings(config),
    onCrash,
  };
  const runner = await runProcessor({
    ...loop,
    groupId,
    inputTopic: topics.shipmentCommands,
    outputTopics: [topics.shipmentEvents, topics.shipmentOutcomes],
    processor: shipmentProcessor(serde, topics, logger),
    store: shipmentStore(serde, topics),
    redis,
    keyPrefix: groupId,
    transactionalIdPrefix: groupId,
    decodeErrorClass: UndecodableMessageError,
    members: config.REDUCER_CONSUMERS,
  });
  const intakeGroupId = config.TOPIC_PREFIX + INTAKE_GROUP_ID;
  const intake = await runProcessor({
    ...loop,
    groupId: intakeGroupId,
    inputTopic: topics.shipmentObservations,
    outputTopics: [topics.shipmentCommands],
    processor: observationIntake(serde, topics, logger),
    transactionalIdPrefix: intakeGroupId,
    onBadRecord: observationBadRecordPolicy,
  });

  let joined = false;
  void Promise.all([runner.ready, intake.ready]).then(() => (joined = true)).catch(() => undefined);
  const { app } = createHttpApp({
    logger,
    metrics,
    apiKeys: config.API_KEYS,
    rateLimit: rateLimitOf(config),
    openApi: openApiDocument({ title: 'Waybill shipment-reducer', description: 'Decides shipment commands (shipment.commands → shipment.events and shipment.outcomes, one Kafka transaction each). Its HTTP port serves only health, readiness, metrics and this document.' }),
    readiness: [
      { name: 'consumer group', check: () => joined },
      { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
    ],
  });
  app.use(jsonErrorHandler(logger));
  const server = await listen(app, config.PORT);
  logger.info({ port: config.PORT }, 'shipment-reducer running');

  return {
    server,
    shutdown: [
      { name: 'observation intake', run: () => intake.stop() },
      { name: 'reducer loop', run: () => runner.stop() },
      { name: 'http', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      redisShutdownStep(redis),
    ],
  };
}
