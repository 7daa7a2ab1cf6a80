import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import type { Server } from 'node:http';
import Redis from 'ioredis';
import { TOPICS, createSerde, kafkajsRegistryClient, prefixedTopics, type CommandOutcome } from '@waybill/contracts';
import { CommandGateway, IdempotencyStore, OutcomeTracker } from '@waybill/command-gateway';
import { retry, createHttpApp, createKafka, createMetrics, jsonErrorHandler, listen, type Logger, type ShutdownStep, rateLimitOf } from '@waybill/platform';
import { CommandService, type PendingShipmentCommand, type ShipmentClaim } from './command-service';
import type { Config } from './config';
import { shipmentRoutes } from './http/routes';
import { SerialProducer } from '@waybill/platform';

/** Connects everything shipment-handler needs and starts serving; returns the steps to stop it. */
/** How far back a starting handler reads answers again, to pick up those that arrived while it was down. */
const OUTCOME_REPLAY_MS = 10 * 60_000;

export async function start(config: Config, logger: Logger, onCrash: (err: Error) => void): Promise<{ server: Server; shutdown: ShutdownStep[] }> {
  const metrics = createMetrics('shipment-handler');
  const instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const kafka = createKafka({ clientId: config.KAFKA_CLIENT_ID ?? 'shipment-handler', brokers: config.KAFKA_BROKERS, logger });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  const serde = createSerde({ registry: kafkajsRegistryClient(config.SCHEMA_REGISTRY_URL) });
  await retry('registering schemas', logger, () => serde.registerAll());

  const topics = prefixedTopics(config.TOPIC_PREFIX);
  const keyPrefix = `${config.TOPIC_PREFIX}shipment-handler`;
  const tracker = new OutcomeTracker<CommandOutcome>(
    kafka,
    redis,
    {
      topic: topics.shipmentOutcomes,
      groupId: `${config.TOPIC_PREFIX}shipment-handler-outcomes-${instanceId}`,
      keyPrefix,
      ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
      replayMs: OUTCOME_REPLAY_MS,
      onCrash,
      read: async (value) => {
        const decoded = await serde.decode(value, TOPICS.shipmentOutcomes);
        return decoded.recordName === 'CommandOutcome' ? { commandId: decoded.value.commandId, outcome: decoded.value } : undefined;
      },
    },
    logger,
  );
  await tracker.start();
  const kafkaProducer = kafka.producer({ idempotent: true, maxInFlightRequests: 1 });
  await kafkaProducer.connect();

  const gateway = new CommandGateway<CommandOutcome, ShipmentClaim, PendingShipmentCommand>({
    redis,
    keyPrefix,
    tracker,
    idempotency: new IdempotencyStore<ShipmentClaim>(redis, keyPrefix, config.IDEMPOTENCY_TTL_SECONDS),
    outcomeWaitMs: config.OUTCOME_WAIT_MS,
    ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    logger,
  });
  const service = new CommandService({ producer: new SerialProducer(kafkaProducer), commandsTopic: topics.shipmentCommands, serde, gateway, logger });

  const { app, authenticated } = createHttpApp({
    logger,
    metrics,
    apiKeys: config.API_KEYS,
    rateLimit: rateLimitOf(config),
    bodyLimit: config.BODY_LIMIT,
    readiness: [
      { name: 'outcomes', check: () => tracker.ready },
      { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
    ],
  });
  app.use(authenticated, shipmentRoutes(service));
  app.use(jsonErrorHandler(logger));
  const server = await listen(app, config.PORT);
  logger.info({ port: config.PORT, instanceId }, 'shipment-handler listening');

  return {
    server,
    shutdown: [
      { name: 'http', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      { name: 'producer', run: () => kafkaProducer.disconnect() },
      { name: 'outcome tracker', run: () => tracker.stop() },
      { name: 'redis', run: async () => void (await redis.quit()) },
    ],
  };
}
