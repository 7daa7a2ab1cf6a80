import type { Logger } from '@waybill/platform';
import { errorMessage, isRebalanceError } from './errors';

export interface GroupOffset {
  topic: string;
  partition: number;
  offset: string;
}

export interface ThrottledOffsetCommitsOptions {
  /** Sends one OffsetCommit (kafkajs `consumer.commitOffsets`). */
  commit: (offsets: GroupOffset[]) => Promise<void>;
  /** A partition commits at most this often, ms; 0 commits every offset at once. */
  intervalMs: number;
  logger: Logger;
}

/** The default interval: one OffsetCommit per partition and second at most. */
export const GROUP_COMMIT_INTERVAL_MS = 1_000;

/**
 * Group offsets that only operators read (lag, the replay tools), not where a consumer resumes:
 * a projection resumes where Redis says, the outcome tracker rewinds by time. Each commit costs the
 * broker a request and a log append, so a partition commits at once only when its last commit is
 * older than the interval; otherwise its offset waits, and one request commits every waiting
 * partition when the interval has passed. Transactional offsets (a decide loop's) are not these:
 * they commit with the transaction.
 */
export class ThrottledOffsetCommits {
  /** Per partition: when its offset was last committed, and an offset still waiting to be. */
  private readonly partitions = new Map<string, { topic: string; partition: number; at: number; pending?: string }>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly options: ThrottledOffsetCommitsOptions) {}

  /**
   * Records how far a partition was read. A rebalance error of a commit made at once is thrown, so
   * the consumer's loop sees it and rejoins; any other failure is left to the next commit.
   */
  async record(topic: string, partition: number, offset: string): Promise<void> {
    const key = `${topic}:${partition}`;
    const last = this.partitions.get(key);
    if (this.options.intervalMs > 0 && last && Date.now() - last.at < this.options.intervalMs) {
      last.pending = offset;
      if (!this.stopped) this.timer ??= setTimeout(() => {
        this.timer = undefined;
        void this.commitPending();
      }, this.options.intervalMs);
      return;
    }
    this.partitions.set(key, { topic, partition, at: Date.now() });
    try {
      await this.options.commit([{ topic, partition, offset }]);
    } catch (error) {
      if (isRebalanceError(error)) throw error;
      this.options.logger.debug({ error: errorMessage(error), topic, partition }, 'group offset not committed');
    }
  }

  /** Forgets every waiting offset: after a new assignment a partition may have another owner, whose offsets these must never overwrite. */
  clear(): void {
    this.partitions.clear();
  }

  /** Commits every waiting offset in one request; a failure leaves them to the partitions' next commits. */
  async commitPending(): Promise<void> {
    if (this.stopped) return;
    const waiting = [...this.partitions.values()].filter((p) => p.pending !== undefined);
    if (waiting.length === 0) return;
    const at = Date.now();
    const offsets = waiting.map((p) => ({ topic: p.topic, partition: p.partition, offset: p.pending as string }));
    for (const p of waiting) {
      p.pending = undefined;
      p.at = at;
    }
    try {
      await this.options.commit(offsets);
    } catch (error) {
      // Outside a consumer's loop a rebalance error has nobody to reach; the next join clears what waits.
      this.options.logger.debug({ error: errorMessage(error), partitions: offsets.length }, 'waiting group offsets not committed');
    }
  }

  /** Commits what waits, for up to `maxWaitMs` (so tools show the lag as it was), and commits nothing after. */
  async stop(maxWaitMs = 2_000): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    let timeout: NodeJS.Timeout | undefined;
    await Promise.race([this.commitPending(), new Promise<void>((resolve) => (timeout = setTimeout(resolve, maxWaitMs)))]);
    clearTimeout(timeout);
    this.stopped = true;
  }
}
