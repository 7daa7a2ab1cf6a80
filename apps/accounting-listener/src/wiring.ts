import type { Server } from 'node:http';
import { createSerde, kafkajsRegistryClient, prefixedTopics, UndecodableMessageError } from '@waybill/contracts';
import { createHttpApp, createKafka, createMetrics, jsonErrorHandler, listen, openApiDocument, type Logger, type ShutdownStep, rateLimitOf, registryClientOptions } from '@waybill/platform';
import { processorLoopSettings, runProcessor } from '@waybill/streams';
import type { Config } from './config';
import { chargeProcessor } from './charge-processor';

export const GROUP_ID = 'accounting-listener';

/** Starts the listener loop and its health/metrics endpoint; returns the steps to stop it. */
export async function start(config: Config, logger: Logger, onCrash: (err: Error) => void): Promise<{ server: Server; shutdown: ShutdownStep[] }> {
  const metrics = createMetrics(GROUP_ID);
  const kafka = createKafka({ clientId: config.KAFKA_CLIENT_ID ?? GROUP_ID, brokers: config.KAFKA_BROKERS, logger, config });
  const serde = createSerde({ registry: kafkajsRegistryClient(config.SCHEMA_REGISTRY_URL, registryClientOptions(config)) });

  const topics = prefixedTopics(config.TOPIC_PREFIX);
  const groupId = config.TOPIC_PREFIX + GROUP_ID;
  // No state store: every command is a function of one event, so the transaction (commands and
  // consumed offset together) is all the exactly-once this needs.
  const runner = await runProcessor<never>({
    kafka,
    groupId,
    inputTopic: topics.shipmentEvents,
    outputTopics: [topics.accountingCommands],
    processor: chargeProcessor(serde, topics, logger),
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
    openApi: openApiDocument({ title: 'Waybill accounting-listener', description: 'Turns shipment events into accounting commands (shipment.events → accounting.commands). Its HTTP port serves only health, readiness, metrics and this document.' }),
    readiness: [{ name: 'consumer group', check: () => joined }],
  });
  app.use(jsonErrorHandler(logger));
  const server = await listen(app, config.PORT);
  logger.info({ port: config.PORT }, 'accounting-listener running');

  return {
    server,
    shutdown: [
      { name: 'listener loop', run: () => runner.stop() },
      { name: 'http', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
    ],
  };
}
