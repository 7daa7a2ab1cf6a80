import type Redis from 'ioredis';
import type { AccountingCommandOutcome } from '@waybill/contracts';
import type { Logger } from '@waybill/platform';
import { outcomeKey } from '@waybill/account-balances';

/**
 * Writes the answers that leave no record on `accounting.transactions` (Rejected, Duplicate) to
 * Redis, batched and off the decide path: the loop never waits on Redis for them.
 *
 * NOTE: written while the batch is decided, before its Kafka commit, and outside it: not
 * exactly-once. That is safe because such an answer changes nothing and is a function of the
 * command and the account's committed state: if the transaction aborts, the retry decides the
 * same command on the same state and writes the same answer. A crash before the write loses only
 * the answer (the caller then gets 202 and may poll or retry with its Idempotency-Key).
 */
export class OutcomeWriter {
  private queue: AccountingCommandOutcome[] = [];
  private flushing: Promise<void> | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly topicPrefix: string,
    private readonly ttlSeconds: number,
    private readonly logger: Logger,
  ) {}

  write(outcome: AccountingCommandOutcome): void {
    this.queue.push(outcome);
    this.flushing ??= new Promise<void>((resolve) => setImmediate(resolve)).then(() => this.flush());
  }

  /** Resolves when everything written so far is in Redis (or was logged as lost). */
  async drain(): Promise<void> {
    while (this.flushing) await this.flushing;
  }

  private async flush(): Promise<void> {
    while (this.queue.length) {
      const batch = this.queue;
      this.queue = [];
      const pipeline = this.redis.pipeline();
      for (const outcome of batch) {
        pipeline.set(outcomeKey(this.topicPrefix, outcome.commandId), JSON.stringify({ outcome }), 'EX', this.ttlSeconds);
      }
      try {
        await pipeline.exec();
      } catch (err) {
        this.logger.warn({ err, lost: batch.length }, 'could not store command answers; callers will see them as pending');
      }
    }
    this.flushing = undefined;
  }
}
