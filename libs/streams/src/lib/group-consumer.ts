import type { ConsumerConfig } from 'kafkajs';
import { z } from 'zod';

/**
 * The longest a fetch waits on the broker for new records. kafkajs sends its heartbeat, and so
 * learns that its group is rebalancing, only between fetches: with kafkajs's default of 5 s, an
 * idle member noticed a dead peer's partitions up to 5 s after the coordinator freed them (the
 * ledger's failover took 10.3 s against 6.3–6.8 s for the apps that waited 500 ms).
 */
export const FETCH_WAIT_MS = 500;

/**
 * What every consumer of a Waybill group shares: read_committed, no topic created by accident,
 * the session timeout of the app's environment with three heartbeats in it (at most 3 s apart),
 * and a short fetch wait. `overrides` tune one loop (fetch sizes, a shorter wait).
 */
export function groupConsumerConfig(groupId: string, sessionTimeoutMs: number, overrides: Partial<ConsumerConfig> = {}): ConsumerConfig {
  return {
    groupId,
    readUncommitted: false,
    allowAutoTopicCreation: false,
    sessionTimeout: sessionTimeoutMs,
    heartbeatInterval: Math.min(3_000, Math.floor(sessionTimeoutMs / 3)),
    maxWaitTimeInMs: FETCH_WAIT_MS,
    ...overrides,
  };
}

/**
 * SESSION_TIMEOUT_MS of every consumer app: how long a crashed instance keeps its partitions from
 * the others (or from itself, started again). The default is the broker's minimum
 * (`group.min.session.timeout.ms`, 6 s): failover within 10 s needs it, with a heartbeat every 2 s
 * and every loop heartbeating through long work (a restore, a batch) as well. Measured per app in
 * bench/results/failover-*.json (npm run bench:failover): 6.3–6.6 s from a kill -9 to processing.
 */
export const DEFAULT_SESSION_TIMEOUT_MS = 6_000;
export const sessionTimeoutSetting = z.coerce.number().int().min(6_000).default(DEFAULT_SESSION_TIMEOUT_MS);

/** The environment of an app that runs a decide loop (libs/streams runProcessor). */
export function processorConfigShape(defaults: { partitionsConcurrently: number }) {
  return {
    /** Records per Kafka transaction. */
    MAX_BATCH_SIZE: z.coerce.number().int().min(1).max(10_000).default(500),
    /** Partitions decided at once (each strictly in order). */
    PARTITIONS_CONCURRENTLY: z.coerce.number().int().min(1).max(64).default(defaults.partitionsConcurrently),
    SESSION_TIMEOUT_MS: sessionTimeoutSetting,
  };
}

/** The loop options those settings stand for. */
export function processorLoopSettings(config: { MAX_BATCH_SIZE: number; PARTITIONS_CONCURRENTLY: number; SESSION_TIMEOUT_MS: number }): { maxBatchSize: number; partitionsConsumedConcurrently: number; sessionTimeout: number } {
  return { maxBatchSize: config.MAX_BATCH_SIZE, partitionsConsumedConcurrently: config.PARTITIONS_CONCURRENTLY, sessionTimeout: config.SESSION_TIMEOUT_MS };
}
