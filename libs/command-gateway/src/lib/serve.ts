import type { Server } from 'node:http';
import type { Router } from 'express';
import { z } from 'zod';
import { createSerde, kafkajsRegistryClient, prefixedTopics, type DecodedRecord, type Serde, type TopicName } from '@waybill/contracts';
import { baseConfigShape, createHttpApp, createKafka, createMetrics, jsonErrorHandler, listen, rateLimitOf, retry, type BaseConfig, type Logger, type OpenApiDocument, type ShutdownStep, redisShutdownStep, createRedis, registryClientOptions } from '@waybill/platform';
import type { IdempotencyRecord } from './idempotency';
import { startHandlerGateway, type HandlerGateway } from './start';

/** The environment every front door reads, beside the base one; `port` and `bodyLimit` are its defaults. */
export function handlerConfigShape(defaults: { port: number; bodyLimit: string }) {
  return {
    ...baseConfigShape,
    PORT: baseConfigShape.PORT.default(defaults.port),
    /** How long a request waits for its command's answer before answering 202 with a URL to poll. */
    OUTCOME_WAIT_MS: z.coerce.number().int().min(0).max(60_000).default(2_000),
    /** How long an Idempotency-Key (and a command's answer) is remembered. */
    IDEMPOTENCY_TTL_SECONDS: z.coerce.number().int().positive().default(86_400),
    BODY_LIMIT: z.string().default(defaults.bodyLimit),
  };
}

export type HandlerConfig = BaseConfig & { OUTCOME_WAIT_MS: number; IDEMPOTENCY_TTL_SECONDS: number; BODY_LIMIT: string };

/** What a front door's routes are built from. */
export interface HandlerContext<T, R extends IdempotencyRecord, P> {
  handler: HandlerGateway<T, R, P>;
  serde: Serde;
  /** Physical topic names under TOPIC_PREFIX. */
  topics: ReturnType<typeof prefixedTopics>;
}

export interface ServeHandlerOptions<T, R extends IdempotencyRecord, P> {
  app: string;
  config: HandlerConfig;
  /** The logical topic the answers arrive on. */
  outcomesTopic: TopicName;
  /** The answer a request waits for in a decoded outcomes record; undefined for one nobody waits for. */
  answer(decoded: DecodedRecord): { commandId: string; outcome: T } | undefined;
  /** The app's own routes, mounted behind the API-key check. */
  routes(context: HandlerContext<T, R, P>): Router | Router[];
  /** The app's OpenAPI document (its routes and the platform's), served at `GET /openapi.json`. */
  openApi: OpenApiDocument;
  onCrash: (error: Error) => void;
  logger: Logger;
}

/**
 * Starts a whole front door: Kafka, Redis and the registry connected, the schemas registered, the
 * command gateway on its outcomes topic, the HTTP app with health, readiness, metrics, API keys
 * and rate limits, and the app's routes. Returns the server and the steps to stop it, in order.
 */
export async function serveHandler<T, R extends IdempotencyRecord, P>(options: ServeHandlerOptions<T, R, P>): Promise<{ server: Server; shutdown: ShutdownStep[] }> {
  const { app: name, config, logger } = options;
  const metrics = createMetrics(name);
  const kafka = createKafka({ clientId: config.KAFKA_CLIENT_ID ?? name, brokers: config.KAFKA_BROKERS, logger, config });
  const redis = createRedis(config, { maxRetriesPerRequest: 3 });
  const serde = createSerde({ registry: kafkajsRegistryClient(config.SCHEMA_REGISTRY_URL, registryClientOptions(config)) });
  await retry('registering schemas', logger, () => serde.registerAll());

  const topics = prefixedTopics(config.TOPIC_PREFIX);
  const handler = await startHandlerGateway<T, R, P>({
    app: name,
    kafka,
    redis,
    topicPrefix: config.TOPIC_PREFIX,
    outcomesTopic: config.TOPIC_PREFIX + options.outcomesTopic,
    read: async (value) => options.answer(await serde.decode(value, options.outcomesTopic)),
    ttlSeconds: config.IDEMPOTENCY_TTL_SECONDS,
    outcomeWaitMs: config.OUTCOME_WAIT_MS,
    onCrash: options.onCrash,
    logger,
    metrics,
  });

  const { app, authenticated } = createHttpApp({
    logger,
    metrics,
    apiKeys: config.API_KEYS,
    rateLimit: rateLimitOf(config),
    bodyLimit: config.BODY_LIMIT,
    openApi: options.openApi,
    readiness: [
      { name: 'outcomes', check: () => handler.tracker.ready },
      { name: 'redis', check: async () => (await redis.ping()) === 'PONG' },
    ],
  });
  app.use(authenticated, options.routes({ handler, serde, topics }));
  app.use(jsonErrorHandler(logger));
  const server = await listen(app, config.PORT);
  logger.info({ port: config.PORT, instanceId: handler.instanceId }, `${name} listening`);

  return {
    server,
    shutdown: [
      { name: 'http', run: () => new Promise<void>((resolve) => server.close(() => resolve())) },
      { name: 'producer and outcome tracker', run: () => handler.stop() },
      redisShutdownStep(redis),
    ],
  };
}
