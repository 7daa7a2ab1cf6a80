import type { Server } from 'node:http';
import Redis from 'ioredis';
import { TOPICS, createSerde, kafkajsRegistryClient, prefixedTopics, type AccountingCommandOutcome } from '@waybill/contracts';
import { startHandlerGateway } from '@waybill/command-gateway';
import { retry, createHttpApp, createKafka, createMetrics, jsonErrorHandler, listen, type Logger, type ShutdownStep, rateLimitOf } from '@waybill/platform';
import { AccountingService, type AccountingClaim, type PendingAccountingCommand } from './accounting-service';
import type { Config } from './config';
import { BalanceClient } from './balance-client';
import { accountingRoutes } from './http/routes';

/** Connects everything accounting-handler needs and starts serving; returns the steps to stop it. */
export async function start(config: Config, logger: Logger, onCrash: (err: Error) => void): Promise<{ server: Server; shutdown: ShutdownStep[] }> {
  const metrics = createMetrics('accounting-handler');
  const kafka = createKafka({ clientId: config.KAFKA_CLIENT_ID ?? 'accounting-handler', brokers: config.KAFKA_BROKERS, logger });
  const redis = new Redis(config.REDIS_URL, { maxRetriesPerRequest: 3 });
  const serde = createSerde({ registry: kafkajsRegistryClient(config.SCHEMA_REGISTRY_URL) });
  await retry('registering schemas', logger, () => serde.registerAll());

  const topics = prefixedTopics(config.TOPIC_PREFIX);
  const handler = await startHandlerGateway<AccountingCommandOutcome, AccountingClaim, PendingAccountingCommand>({
    app: 'accounting-handler',
    kafka,
    redis,
    topicPrefix: config.TOPIC_PREFIX,
    outcomesTopic: topics.accountingOutcomes,
    read: async (value) => {
      const decoded = await serde.decode(value, TOPICS.accountingOutcomes);
      if (decoded.recordName !== 'AccountingCommandOutcome') return undefined;
      // A shipment charge's answer has nobody waiting: only requests' answers are kept.
      return decoded.value.sourceEventId === null ? { commandId: decoded.value.commandId, outcome: decoded.value } : undefined;
    },
    ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    outcomeWaitMs: config.OUTCOME_WAIT_MS,
    onCrash,
    logger,
  });
  const balances = new BalanceClient(config.ACCOUNT_REDUCER_URL, logger);
  const service = new AccountingService({
    producer: handler.producer,
    commandsTopic: topics.accountingCommands,
    serde,
    gateway: handler.gateway,
    balances,
    outcomeWaitMs: config.OUTCOME_WAIT_MS,
    logger,
  });

  const { app, authenticated } = createHttpApp({
    logger,
    metrics,
    apiKeys: config.API_KEYS,
    rateLimit: rateLimitOf(config),
    bodyLimit: config.BODY_LIMIT,
    readiness: [
      { name: 'outcomes', check: () => handler.tracker.ready },
      { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
    ],
  });
  app.use(authenticated, accountingRoutes(service, balances));
  app.use(jsonErrorHandler(logger));
  const server = await listen(app, config.PORT);
  logger.info({ port: config.PORT, instanceId: handler.instanceId }, 'accounting-handler listening');

  return {
    server,
    shutdown: [
      { name: 'http', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      { name: 'producer and outcome tracker', run: () => handler.stop() },
      { name: 'redis', run: async () => void (await redis.quit()) },
    ],
  };
}
