import type Redis from 'ioredis';
import { readModelKeys, type AccountSnapshot, type TransactionEntry } from './read-model';

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
    private readonly redis: Redis,
    topicPrefix: string,
  ) {
    this.keys = readModelKeys(topicPrefix);
  }

  async account(accountId: string): Promise<ReflectedBalance | undefined> {
    const text = await this.redis.get(this.keys.account(accountId));
    if (!text) return undefined;
    const snapshot = JSON.parse(text) as AccountSnapshot;
    const reflects = await this.redis.hget(this.keys.offsets, String(snapshot.position.partition));
    return { snapshot, reflects };
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
    return (await this.redis.zrange(this.keys.transactions(accountId), '0', '-1')).map((text) => JSON.parse(text) as TransactionEntry);
  }

  /** A page of transactions, newest first, below version `before` (exclusive). */
  async transactions(accountId: string, options: { before?: number; limit: number }): Promise<{ items: TransactionEntry[]; nextCursor: string | null }> {
    const max = options.before === undefined ? '+inf' : `(${options.before}`;
    const texts = await this.redis.zrevrangebyscore(this.keys.transactions(accountId), max, '-inf', 'LIMIT', '0', String(options.limit + 1));
    const items = texts.slice(0, options.limit).map((text) => JSON.parse(text) as TransactionEntry);
    return { items, nextCursor: texts.length > options.limit ? String(items[items.length - 1].version) : null };
  }
}
