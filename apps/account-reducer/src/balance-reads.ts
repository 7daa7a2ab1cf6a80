import { readModelKeys, type AccountSnapshot, type TransactionEntry } from './read-model';
import type { RedisClient } from '@waybill/platform';

/** An account's balance with the next offset of its partition this read model reflects. */
export interface ReflectedBalance {
  snapshot: AccountSnapshot;
  /** Every record of the account's partition below this offset is in the snapshot. */
  reflects: string | null;
}

/** Reads of the balances this app keeps (the only reader of these keys). */
export class BalanceReads {
  private readonly keys: ReturnType<typeof readModelKeys>;

  constructor(
    private readonly redis: RedisClient,
    topicPrefix: string,
    /** The partitions of `accounting.transactions`: an account's keys are in the slot of the partition its transactions are on. */
    private readonly partitions: () => readonly number[],
  ) {
    this.keys = readModelKeys(topicPrefix);
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

  /** Every transaction of the account in version order (an empty list for an unknown account). */
  async allTransactions(accountId: string): Promise<TransactionEntry[]> {
    const found = await this.locate(accountId);
    if (!found) return [];
    return (await this.redis.zrange(this.keys.transactions(found.partition, accountId), '0', '-1')).map((text) => JSON.parse(text) as TransactionEntry);
  }

  /** A page of transactions, newest first, below version `before` (exclusive); undefined for an unknown account. */
  async transactions(accountId: string, options: { before?: number; limit: number }): Promise<{ items: TransactionEntry[]; nextCursor: string | null } | undefined> {
    const found = await this.locate(accountId);
    if (!found) return undefined;
    const max = options.before === undefined ? '+inf' : `(${options.before}`;
    const texts = await this.redis.zrevrangebyscore(this.keys.transactions(found.partition, accountId), max, '-inf', 'LIMIT', '0', String(options.limit + 1));
    const items = texts.slice(0, options.limit).map((text) => JSON.parse(text) as TransactionEntry);
    return { items, nextCursor: texts.length > options.limit ? String(items[items.length - 1].version) : null };
  }
}
