import { balanceAsOf, type AccountBalance } from '@waybill/accounting-domain';
import { TOPICS, type TransactionRecorded } from '@waybill/contracts';
import type { RedisClient } from '@waybill/platform';
import { WaybillError } from '@waybill/util';
import { booked, bookedArchived, parseArchivedMember, readModelKeys, transactionEntry, type AccountSnapshot, type ArchivedEntry, type TransactionEntry } from './read-model';

/** The records of archived transactions, read back from `accounting.transactions` by their offsets. */
export interface ArchivedTransactionSource {
  /** The records at these offsets of the partition, in the order given; undefined where the topic no longer holds one. */
  load(partition: number, offsets: readonly string[]): Promise<Array<TransactionRecorded | undefined>>;
}

/**
 * Transactions past the retention window could not be read back from Kafka (the broker is away, or
 * the topic no longer holds them): that page is unavailable now; balances, as-of answers and newer
 * pages are not.
 */
export class ArchivedTransactionsUnavailableError extends WaybillError {
  readonly code = 'ARCHIVED_HISTORY_UNAVAILABLE';
  override readonly retriable = true;

  constructor(accountId: string, reason: string, options?: { cause?: unknown }) {
    super(`the archived transactions of account ${accountId} cannot be read from Kafka: ${reason}`, { accountId }, options);
  }
}

/** An account's balance with the next offset of its partition this read model reflects. */
export interface ReflectedBalance {
  snapshot: AccountSnapshot;
  /** Every record of the account's partition below this offset is in the snapshot. */
  reflects: string | null;
}

/** Reads of the balances this app keeps (the only reader of these keys). */
export class BalanceReads {
  private readonly keys: ReturnType<typeof readModelKeys>;
  /** The physical topic entries name in their positions, as the projection wrote them. */
  private readonly topic: string;

  constructor(
    private readonly redis: RedisClient,
    topicPrefix: string,
    /** The partitions of `accounting.transactions`: an account's keys are in the slot of the partition its transactions are on. */
    private readonly partitions: () => readonly number[],
    /** Where the entries past the retention window are read back from; without it a page reaching them is unavailable. */
    private readonly archivedSource?: ArchivedTransactionSource,
  ) {
    this.keys = readModelKeys(topicPrefix);
    this.topic = topicPrefix + TOPICS.accountingTransactions;
  }

  async account(accountId: string): Promise<ReflectedBalance | undefined> {
    const found = await this.locate(accountId);
    if (!found) return undefined;
    const reflects = await this.redis.hget(this.keys.offsets(found.partition), String(found.partition));
    return { snapshot: found.snapshot, reflects };
  }

  /**
   * The partition holding the account, and its snapshot: looked for in every partition at once (a
   * reader does not know how the producers partitioned). After partitions were added an account
   * may be in two; the newer snapshot is the account.
   */
  private async locate(accountId: string): Promise<{ partition: number; snapshot: AccountSnapshot } | undefined> {
    const partitions = this.partitions();
    const texts = await Promise.all(partitions.map((p) => this.redis.get(this.keys.account(p, accountId))));
    let best: { partition: number; snapshot: AccountSnapshot } | undefined;
    texts.forEach((text, i) => {
      if (!text) return;
      const snapshot = JSON.parse(text) as AccountSnapshot;
      if (!best || snapshot.version > best.snapshot.version) best = { partition: partitions[i], snapshot };
    });
    return best;
  }

  /**
   * The account once it reflects `version` or a later one: polled until `deadline` (epoch ms);
   * undefined when it did not get there in time.
   */
  async accountAtLeast(accountId: string, version: number, deadline: number): Promise<ReflectedBalance | undefined> {
    for (;;) {
      const found = await this.account(accountId);
      if (found && found.snapshot.version >= version) return found;
      if (Date.now() >= deadline) return undefined;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /**
   * The account's balance as of `at`: the fold of every transaction booked by then (undefined when
   * none was). The archived ones fold from their compact entries; only when the last one folded is
   * archived is its record read back, for its transaction id.
   */
  async balanceAsOf(accountId: string, at: number): Promise<AccountBalance | undefined> {
    const found = await this.locate(accountId);
    if (!found) return undefined;
    const { partition, snapshot } = found;
    const [archivedRaw, liveRaw] = await Promise.all([
      this.redis.zrange(this.keys.archived(partition, accountId), '0', '-1'),
      this.redis.zrange(this.keys.transactions(partition, accountId), '0', '-1'),
    ]);
    const archived = archivedRaw.map(parseArchivedMember);
    const then = balanceAsOf(
      [...archived.map((entry) => bookedArchived(accountId, snapshot.currency, entry)), ...liveRaw.map((text) => booked(accountId, JSON.parse(text) as TransactionEntry))],
      at,
    );
    if (!then || then.lastTransactionId !== '') return then;
    const last = archived.filter((entry) => entry.version === then.version);
    const [record] = await this.readArchived(accountId, partition, last);
    return { ...then, lastTransactionId: record.transactionId };
  }

  /**
   * A page of transactions, newest first, below version `before` (exclusive); undefined for an
   * unknown account. The account's list holds its newest versions; a page that reaches below them
   * goes on in the archive, whose records are read back from Kafka.
   */
  async transactions(accountId: string, options: { before?: number; limit: number }): Promise<{ items: TransactionEntry[]; nextCursor: string | null } | undefined> {
    const found = await this.locate(accountId);
    if (!found) return undefined;
    const { partition } = found;
    const max = options.before === undefined ? '+inf' : `(${options.before}`;
    const wanted = options.limit + 1;
    const live = (await this.redis.zrevrangebyscore(this.keys.transactions(partition, accountId), max, '-inf', 'LIMIT', '0', String(wanted))).map(
      (text) => JSON.parse(text) as TransactionEntry,
    );
    let items = live.slice(0, options.limit);
    let more = live.length > options.limit;
    if (!more) {
      const below = live.length ? `(${live[live.length - 1].version}` : max;
      const archived = (await this.redis.zrevrangebyscore(this.keys.archived(partition, accountId), below, '-inf', 'LIMIT', '0', String(wanted - live.length))).map(parseArchivedMember);
      // The one past the page only says there is more: it is not read back.
      const shown = archived.slice(0, options.limit - live.length);
      more = archived.length > shown.length;
      items = [...live, ...(await this.readArchived(accountId, partition, shown))];
    }
    return { items, nextCursor: more ? String(items[items.length - 1].version) : null };
  }

  private async readArchived(accountId: string, partition: number, archived: readonly ArchivedEntry[]): Promise<TransactionEntry[]> {
    if (!archived.length) return [];
    if (!this.archivedSource) throw new ArchivedTransactionsUnavailableError(accountId, 'this reader has no Kafka source for archived transactions');
    let records: Array<TransactionRecorded | undefined>;
    try {
      records = await this.archivedSource.load(partition, archived.map((a) => a.offset));
    } catch (error) {
      throw new ArchivedTransactionsUnavailableError(accountId, (error as Error).message, { cause: error });
    }
    return archived.map((entry, i) => {
      const record = records[i];
      if (!record || record.aggregateId !== accountId || record.version !== entry.version) {
        throw new ArchivedTransactionsUnavailableError(accountId, `accounting.transactions holds no version ${entry.version} of the account at partition ${partition} offset ${entry.offset}`);
      }
      return transactionEntry(record, entry.balanceAfterMinor, { topic: this.topic, partition, offset: entry.offset });
    });
  }
}
