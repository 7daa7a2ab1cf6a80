import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import { SerialProducer, type AppMetrics, type Logger, type RedisClient } from '@waybill/platform';
import { CommandGateway } from './command-gateway';
import { IdempotencyStore, type IdempotencyRecord } from './idempotency';
import { OutcomeTracker, type OutcomeTrackerOptions } from './outcome-tracker';

/** How far back a starting handler reads answers again, to pick up those that arrived while it was down. */
export const OUTCOME_REPLAY_MS = 10 * 60_000;

export interface HandlerGateway<T, R extends IdempotencyRecord, P> {
  /** This instance's name in its outcome group and logs. */
  instanceId: string;
  tracker: OutcomeTracker<T>;
  gateway: CommandGateway<T, R, P>;
  /** The idempotent producer of the commands topic (acks=all, one request in flight). */
  producer: SerialProducer;
  stop(): Promise<void>;
}

/**
 * Everything a front door needs between HTTP and its commands topic, started: the outcome tracker
 * on its outcomes topic (a group of this instance's own), the idempotency store, the gateway and
 * the producer. Redis keys and the group live under `<topicPrefix><app>`.
 */
export async function startHandlerGateway<T, R extends IdempotencyRecord, P>(options: {
  app: string;
  kafka: Kafka;
  redis: RedisClient;
  topicPrefix: string;
  outcomesTopic: string;
  read: OutcomeTrackerOptions<T>['read'];
  ttlSeconds: number;
  outcomeWaitMs: number;
  onCrash: (err: Error) => void;
  logger: Logger;
  metrics?: AppMetrics;
}): Promise<HandlerGateway<T, R, P>> {
  const { app, kafka, redis, topicPrefix, ttlSeconds, logger } = options;
  const instanceId = `${hostname()}-${process.pid}-${randomBytes(3).toString('hex')}`;
  const keyPrefix = `${topicPrefix}${app}`;
  const tracker = new OutcomeTracker<T>(
    kafka,
    redis,
    { topic: options.outcomesTopic, groupId: `${keyPrefix}-outcomes-${instanceId}`, keyPrefix, ttlSeconds, replayMs: OUTCOME_REPLAY_MS, onCrash: options.onCrash, read: options.read, metrics: options.metrics },
    logger,
  );
  await tracker.start();
  const producer = new SerialProducer(() => kafka.producer({ idempotent: true, maxInFlightRequests: 1 }));
  await producer.connect();
  const gateway = new CommandGateway<T, R, P>({
    redis,
    keyPrefix,
    tracker,
    idempotency: new IdempotencyStore<R>(redis, keyPrefix, ttlSeconds),
    outcomeWaitMs: options.outcomeWaitMs,
    ttlSeconds,
    logger,
    metrics: options.metrics,
  });
  return {
    instanceId,
    tracker,
    gateway,
    producer,
    async stop() {
      await producer.disconnect();
      await tracker.stop();
    },
  };
}
