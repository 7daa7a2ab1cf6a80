import type { KafkaMessage } from 'kafkajs';
import { TOPICS, type Serde } from '@waybill/contracts';
import { ledgerKeys, offsetField, planAgainstRedis, toLedgerInput, type LedgerInput, type LedgerTopic, type OutcomeDoc } from '@waybill/ledger-projections';
import type { Projection } from '@waybill/streams';
import type { ProjectedVersions } from './version-waiter';
import type { RedisClient } from '@waybill/platform';

export interface LedgerProjectionOptions {
  redis: RedisClient;
  serde: Serde;
  keyPrefix: string;
  snapshotEvery: number;
  /** A write of shipment events is in Redis: readers waiting for those versions look again. */
  onShipments: (versions: ProjectedVersions) => void;
  /** A write stored new alerts. */
  onAlerts: (alerts: OutcomeDoc[]) => void;
}

/**
 * The ledger's read model as libs/streams' ProjectionLoop runs it: the three ledger topics decoded
 * to `LedgerInput`s and planned with the same `planBatch` that `waybill rebuild` uses, so a rebuilt
 * keyspace equals the one the app wrote. The projection is idempotent: a replayed record is a
 * duplicate, never counted twice.
 */
export function ledgerProjection(options: LedgerProjectionOptions): Projection<LedgerInput> {
  const { redis, serde, keyPrefix, snapshotEvery } = options;
  return {
    offsetsKey: (_topic, partition) => ledgerKeys(keyPrefix, partition).offsets,
    offsetField,
    decode: async (topic: string, partition: number, message: KafkaMessage) => {
      const logical = topic as LedgerTopic;
      // The record's Kafka timestamp is when Waybill recorded it (the recorded time axis).
      return toLedgerInput(logical, partition, message.offset, await serde.decode(message.value, logical), message.timestamp);
    },
    plan: async ({ topic, records }) => {
      const inputs = records.map((r) => r.value);
      const plan = await planAgainstRedis(redis, keyPrefix, inputs, { snapshotEvery });
      return {
        expect: plan.expect,
        writes: plan.writes,
        counts: { applied: plan.applied, duplicate: plan.duplicates },
        warnings: plan.warnings,
        onWritten: () => {
          if (topic === TOPICS.shipmentEvents) options.onShipments(projectedVersions(inputs));
          if (plan.alerts.length) options.onAlerts(plan.alerts);
        },
      };
    },
  };
}

/** Each shipment the records are events of, with the highest version among them. */
function projectedVersions(inputs: readonly LedgerInput[]): ProjectedVersions {
  const versions = new Map<string, number>();
  for (const { record } of inputs) {
    if (record.type === 'CommandOutcome' || record.type === 'TransactionRecorded') continue;
    const { aggregateId, version } = record.value;
    if (version > (versions.get(aggregateId) ?? 0)) versions.set(aggregateId, version);
  }
  return versions;
}
