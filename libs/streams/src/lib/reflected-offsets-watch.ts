import type { Logger, RedisClient } from '@waybill/platform';
import { errorMessage } from './errors';

/** A partition a read model reflects, named by its offsets hash and its field there. */
export interface WatchedPartition {
  topic: string;
  partition: number;
  /** The hash of field → next offset that the read model writes beside this partition's data. */
  offsetsKey: string;
  field: string;
}

export interface ReflectedOffsetsWatchOptions {
  redis: RedisClient;
  /** The partitions this instance owns now. */
  partitions(): Iterable<WatchedPartition>;
  /** What this instance last wrote or saw for `field` (undefined: nothing yet, nothing to check). */
  lastKnown(field: string): bigint | undefined;
  /** The read model lost `field` (or went back): project the partition again from what Redis holds. */
  onLost(partition: WatchedPartition, stored: bigint | undefined): Promise<void>;
  intervalMs: number;
  logger: Logger;
}

/**
 * Notices, without waiting for traffic, that Redis lost a read model under a running consumer: a
 * Redis restarted empty, flushed or rolled back. A consumer learns it on its next write (its
 * continuity guard), but a partition with nothing new never writes, so its read model stayed
 * empty until the next record or restart. Every `intervalMs` this reads each offsets hash once and
 * hands each owned partition whose stored offset is gone or behind what this instance knew to
 * `onLost`.
 */
export function watchReflectedOffsets(options: ReflectedOffsetsWatchOptions): { stop(): void } {
  let running = false;
  const check = async () => {
    if (running) return;
    running = true;
    try {
      // NOTE: what this instance knows is taken before Redis is read. Stored offsets only move
      // forward, so a batch landing in between can only make Redis say more, never a false loss.
      const owned = [...options.partitions()].flatMap((partition) => {
        const known = options.lastKnown(partition.field);
        return known === undefined ? [] : [{ partition, known }];
      });
      if (owned.length === 0) return;
      const hashes = [...new Set(owned.map(({ partition }) => partition.offsetsKey))];
      const stored = new Map(await Promise.all(hashes.map(async (key) => [key, await options.redis.hgetall(key)] as const)));
      for (const { partition, known } of owned) {
        const raw = stored.get(partition.offsetsKey)?.[partition.field];
        const now = raw !== undefined && /^\d+$/.test(raw) ? BigInt(raw) : undefined;
        if (now !== undefined && now >= known) continue;
        options.logger.warn(
          { topic: partition.topic, partition: partition.partition, knew: known.toString(), stored: now?.toString() ?? null },
          'the read model lost this partition (Redis restarted empty or flushed); projecting it again from what Redis holds',
        );
        await options.onLost(partition, now);
      }
    } catch (error) {
      // Redis away: the next tick looks again; the write path has its own guard meanwhile.
      options.logger.debug({ error: errorMessage(error) }, 'offsets watch could not read Redis');
    } finally {
      running = false;
    }
  };
  const timer = setInterval(() => void check(), options.intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
