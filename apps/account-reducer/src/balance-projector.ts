import { TOPICS, type Serde, type TransactionRecorded } from '@waybill/contracts';
import { foldBalance } from '@waybill/accounting-domain';
import type { Logger, RedisClient } from '@waybill/platform';
import type { Projection, ProjectionChunk, RedisWrite } from '@waybill/streams';
import { readModelKeys, transactionEntry, type AccountSnapshot, type Position } from './read-model';

export interface BalanceProjectionOptions {
  redis: RedisClient;
  serde: Serde;
  /** TOPIC_PREFIX: positions name the physical topic, as Kafka's tools do. */
  topicPrefix: string;
  logger: Logger;
}

/**
 * The balances read model as libs/streams' ProjectionLoop runs it: `accounting.transactions`
 * folded with the one balance fold (`foldBalance`) into a snapshot per account and its list of
 * transactions. One writer per partition is the loop's offset compare-and-set, so the plan needs
 * no preconditions of its own; a transaction at or below the snapshot's version is already counted.
 */
export function balanceProjection(options: BalanceProjectionOptions): Projection<TransactionRecorded> {
  const { redis, serde, topicPrefix, logger } = options;
  const keys = readModelKeys(topicPrefix);
  return {
    offsetsKey: (_topic, partition) => keys.offsets(partition),
    offsetField: (_topic, partition) => String(partition),
    decode: async (_topic, _partition, message) => (await serde.decode(message.value, TOPICS.accountingTransactions)).value as TransactionRecorded,
    plan: async (chunk: ProjectionChunk<TransactionRecorded>) => {
      // The snapshots the chunk starts from, in one MGET.
      const accountIds = [...new Set(chunk.records.map((r) => r.value.aggregateId))];
      const texts = accountIds.length ? await redis.mget(...accountIds.map((id) => keys.account(chunk.partition, id))) : [];
      const snapshots = new Map<string, AccountSnapshot | undefined>(accountIds.map((id, i) => [id, parseSnapshot(texts[i])]));
      const writes: RedisWrite[] = [];
      let applied = 0;
      let duplicate = 0;
      for (const { value: event, offset } of chunk.records) {
        const accountId = event.aggregateId;
        const before = snapshots.get(accountId);
        if (before && event.version <= before.version) {
          // The command listener gives each account gapless versions; an old one is already counted.
          logger.warn({ accountId, version: event.version, snapshotVersion: before.version, transactionId: event.data.transactionId }, 'transaction already reflected; skipped');
          duplicate += 1;
          continue;
        }
        if (before && event.version !== before.version + 1) {
          logger.warn({ accountId, version: event.version, snapshotVersion: before.version }, 'account version gap');
        }
        const position: Position = { topic: topicPrefix + chunk.topic, partition: chunk.partition, offset };
        const after: AccountSnapshot = { ...foldBalance(before, event), position };
        snapshots.set(accountId, after);
        writes.push({ op: 'zadd', key: keys.transactions(chunk.partition, accountId), score: event.version, member: JSON.stringify(transactionEntry(event, after.balanceMinor, position)) });
        // The retention window's index: the oldest booking the account's list still holds.
        writes.push({ op: 'zmin', key: keys.archivable(chunk.partition), score: event.timestamp, member: accountId });
        applied += 1;
      }
      for (const accountId of accountIds) {
        const snapshot = snapshots.get(accountId);
        if (snapshot) writes.push({ op: 'set', key: keys.account(chunk.partition, accountId), value: JSON.stringify(snapshot) });
      }
      return { expect: [], writes, counts: { applied, duplicate } };
    },
  };
}

function parseSnapshot(text: string | null | undefined): AccountSnapshot | undefined {
  return text ? (JSON.parse(text) as AccountSnapshot) : undefined;
}
