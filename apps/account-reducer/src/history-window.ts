import type { Kafka } from 'kafkajs';
import { Counter } from 'prom-client';
import { TOPICS, type Serde, type TransactionRecorded } from '@waybill/contracts';
import { PeriodicPass, type AppMetrics, type Logger, type RedisClient } from '@waybill/platform';
import { RecordsAtPositions } from '@waybill/streams';
import type { ArchivedTransactionSource } from './balance-reads';
import { archivedMember, readModelKeys, type TransactionEntry } from './read-model';

/** The window account-reducer keeps whole transaction entries in Redis by default (HISTORY_RETENTION_DAYS). */
export const DEFAULT_HISTORY_RETENTION_DAYS = 30;
const DAY_MS = 86_400_000;
/** Accounts taken per look at the index, and entries per account per script: bounds one script's time. */
const ACCOUNTS_PER_ROUND = 100;
const ENTRIES_PER_MOVE = 500;

/** One entry leaving the account's list: its member there, its version, and what replaces it. */
export interface EntryMove {
  member: string;
  version: number;
  archived: string;
}

/**
 * Which of an account's oldest entries (in version order, as its list holds them) were booked
 * before `cutoff`: taken from the oldest up to the first that was not, so what stays in the list is
 * always a run of the newest versions and a page reads the list, then the archive below it.
 */
export function entriesToArchive(oldestFirst: readonly string[], cutoff: number): EntryMove[] {
  const moves: EntryMove[] = [];
  for (const member of oldestFirst) {
    const entry = JSON.parse(member) as TransactionEntry;
    if (entry.timestamp >= cutoff) break;
    moves.push({ member, version: entry.version, archived: archivedMember(entry) });
  }
  return moves;
}

// Moves entries from the list to the archive, then sets the account's place in the index to its
// oldest remaining entry (or takes it out): in one script on the partition's slot, so an entry the
// projection adds meanwhile is either before it or after it, and the index never forgets an entry.
const MOVE_SCRIPT = `
local moved = 0
for i = 2, #ARGV, 3 do
  if redis.call('ZREM', KEYS[1], ARGV[i]) == 1 then
    redis.call('ZADD', KEYS[2], ARGV[i + 1], ARGV[i + 2])
    moved = moved + 1
  end
end
local first = redis.call('ZRANGE', KEYS[1], 0, 0)
if first[1] then
  redis.call('ZADD', KEYS[3], string.format('%.0f', cjson.decode(first[1]).timestamp), ARGV[1])
else
  redis.call('ZREM', KEYS[3], ARGV[1])
end
return moved
`;

/**
 * Moves every transaction entry of a partition booked before `cutoff` to its account's archive;
 * returns how many it moved. Safe beside the projection and beside a second owner during a
 * rebalance: an entry never changes, so moving it twice is moving it once.
 */
export async function archiveEntriesBefore(redis: RedisClient, topicPrefix: string, partition: number, cutoff: number, stopped: () => boolean = () => false): Promise<number> {
  const keys = readModelKeys(topicPrefix);
  let moved = 0;
  while (!stopped()) {
    const accounts = await redis.zrangebyscore(keys.archivable(partition), '-inf', `(${cutoff}`, 'LIMIT', '0', String(ACCOUNTS_PER_ROUND));
    if (!accounts.length) break;
    for (const accountId of accounts) {
      const list = keys.transactions(partition, accountId);
      const moves = entriesToArchive(await redis.zrange(list, '0', String(ENTRIES_PER_MOVE - 1)), cutoff);
      const args = moves.flatMap((m) => [m.member, String(m.version), m.archived]);
      moved += Number(await redis.eval(MOVE_SCRIPT, 3, list, keys.archived(partition, accountId), keys.archivable(partition), accountId, ...args));
    }
  }
  return moved;
}

export interface HistoryWindowOptions {
  redis: RedisClient;
  topicPrefix: string;
  /** HISTORY_RETENTION_DAYS: how long a transaction keeps its whole entry in Redis; 0 keeps them all. */
  retentionDays: number;
  intervalMs: number;
  /** The partitions this instance owns now: each is pruned by its owner. */
  ownedPartitions: () => number[];
  logger: Logger;
  metrics: AppMetrics;
  now?: () => number;
}

/** Runs {@link archiveEntriesBefore} over the owned partitions every interval. */
export class HistoryWindow {
  private readonly passes: PeriodicPass;
  private readonly archived: Counter;

  constructor(private readonly options: HistoryWindowOptions) {
    this.archived = new Counter({
      name: 'waybill_account_archived_transactions_total',
      help: 'Transaction entries the retention window moved from an account list to its compact archive',
      registers: [options.metrics.registry],
    });
    this.passes = new PeriodicPass('history retention pass', options.intervalMs, () => this.runOnce(), options.logger);
  }

  start(): void {
    if (this.options.retentionDays > 0) this.passes.start();
  }

  /** One pass over every owned partition; returns how many entries it archived. */
  async runOnce(): Promise<number> {
    const { redis, topicPrefix, retentionDays, logger } = this.options;
    const cutoff = (this.options.now ?? Date.now)() - retentionDays * DAY_MS;
    let total = 0;
    for (const partition of this.options.ownedPartitions()) {
      if (this.passes.stopped) break;
      const started = Date.now();
      const moved = await archiveEntriesBefore(redis, topicPrefix, partition, cutoff, () => this.passes.stopped);
      if (moved > 0) {
        this.archived.inc(moved);
        logger.info({ partition, moved, cutoff: new Date(cutoff).toISOString(), ms: Date.now() - started }, 'archived transaction entries past the retention window');
      }
      total += moved;
    }
    return total;
  }

  stop(): Promise<void> {
    return this.passes.stop();
  }
}

/** Reads archived transactions back from `accounting.transactions` by their offsets, decoded as the projection decodes them. */
export class KafkaArchivedTransactions implements ArchivedTransactionSource {
  private readonly records: RecordsAtPositions;

  constructor(
    kafka: Kafka,
    private readonly topicPrefix: string,
    private readonly serde: Serde,
  ) {
    this.records = new RecordsAtPositions(kafka);
  }

  async load(partition: number, offsets: readonly string[]): Promise<Array<TransactionRecorded | undefined>> {
    const records = await this.records.read(
      this.topicPrefix + TOPICS.accountingTransactions,
      offsets.map((offset) => ({ partition, offset })),
    );
    return Promise.all(records.map(async (record) => (record?.value ? ((await this.serde.decode(record.value, TOPICS.accountingTransactions)).value as TransactionRecorded) : undefined)));
  }

  stop(): Promise<void> {
    return this.records.stop();
  }
}
