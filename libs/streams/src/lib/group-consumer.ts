import type { ConsumerConfig } from 'kafkajs';

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
