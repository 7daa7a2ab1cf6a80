import { randomUUID } from 'node:crypto';
import type { Admin, Consumer, Kafka } from 'kafkajs';
import type { Logger } from '@waybill/platform';
import { IllegalStateTransitionError, RestoreFailedError, TaskCorruptedError, TaskMigratedError, errorMessage, isRebalanceError } from './errors';
import type { KafkaWire } from './kafka-wire';
import { foldChangelogRecord, keysChangedBy, toInputRecord } from './processor';
import type { RedisStateStore } from './state-store';

/** Kafka Streams' ChangelogState: a restorer moves forward only. */
export type RestoreState = 'REGISTERED' | 'RESTORING' | 'COMPLETED' | 'FAILED';

const TRANSITIONS = {
  REGISTERED: ['RESTORING', 'FAILED'],
  RESTORING: ['COMPLETED', 'FAILED'],
  COMPLETED: [],
  FAILED: [],
} as const satisfies Record<RestoreState, readonly RestoreState[]>;

export interface RestoreOptions<S> {
  kafka: Kafka;
  admin: Admin;
  /** Reads the changelog's high watermark (READ_UNCOMMITTED), which kafkajs's admin cannot. */
  wire: KafkaWire;
  store: RedisStateStore<S>;
  partition: number;
  /** Names the throwaway restore group after its owner, so an operator can tell where it came from. */
  ownerGroupId: string;
  logger: Logger;
  /** Called between restore batches and about once a second: the owner heartbeats its group here. */
  onProgress?: () => Promise<void>;
  /** Fail when the restore consumer's position has not moved for this long. */
  stallTimeoutMs?: number;
  /** Write restored states to Redis every this many distinct keys, so memory stays bounded. */
  flushEvery?: number;
  /** A store whose offset lies past this one holds records that were aborted: wipe it. */
  trustedUpTo?: bigint;
}

export interface RestoreResult {
  /** The store's changelog offset after restore; `undefined` when the store is still empty and never written. */
  changelogOffset: string | undefined;
  /** Where the changelog partition ended when restore finished: the next offset the owner will write at. */
  endOffset: bigint;
  recordsApplied: number;
  wiped: boolean;
}

/**
 * Brings one partition's state store up to the end of its changelog partition. Owns a throwaway
 * consumer (kafkajs has no manual `assign()`): a fresh group that subscribes to the changelog,
 * pauses every other partition and seeks this one to the store's offset, disconnected and its
 * group deleted when done.
 */
export class ChangelogRestorer<S> {
  private current: RestoreState = 'REGISTERED';

  constructor(private readonly options: RestoreOptions<S>) {}

  get state(): RestoreState {
    return this.current;
  }

  transitTo(next: RestoreState): void {
    const allowed: readonly RestoreState[] = TRANSITIONS[this.current];
    if (!allowed.includes(next)) {
      throw new IllegalStateTransitionError(this.current, next, { partition: this.options.partition });
    }
    this.current = next;
  }

  async restore(): Promise<RestoreResult> {
    this.transitTo('RESTORING');
    try {
      const result = await this.run();
      this.transitTo('COMPLETED');
      return result;
    } catch (error) {
      this.transitTo('FAILED');
      // A rebalance error must reach kafkajs unchanged, so its runner rejoins the group.
      if (isRebalanceError(error) || error instanceof TaskMigratedError || error instanceof RestoreFailedError) throw error;
      throw new RestoreFailedError(`restore of partition ${this.options.partition} failed: ${errorMessage(error)}`, { partition: this.options.partition }, error);
    }
  }

  private async run(): Promise<RestoreResult> {
    const { admin, wire, store, partition, logger } = this.options;
    const topic = store.definition.changelogTopic;
    const offsets = await admin.fetchTopicOffsets(topic);
    const entry = offsets.find((o) => o.partition === partition);
    if (!entry) throw new RestoreFailedError(`changelog ${topic} has no partition ${partition}`, { topic, partition });
    const low = BigInt(entry.low);
    // NOTE: the end is the high watermark (READ_UNCOMMITTED), as Kafka Streams' StoreChangelogReader
    // takes it (KAFKA-10167), not the last stable offset: EndTxn is answered before the markers are
    // written, so the LSO can still lie before a transaction that has committed. The read_committed
    // restore consumer below cannot pass the LSO, so it waits there until every transaction before
    // the end is decided; one that never is (a hanging transaction) stalls the restore and fails it,
    // rather than letting the owner decide on a store that lacks it.
    const end = (await wire.offsets([{ topic, partitions: [partition] }])).get(`${topic}:${partition}`)?.high;
    if (end === undefined) throw new RestoreFailedError(`changelog ${topic} has no partition ${partition}`, { topic, partition });

    let meta = await store.readMeta(partition);
    let wiped = false;
    const distrust = await this.distrust(meta, low, end);
    if (distrust) {
      logger.warn({ topic, partition, reason: distrust.message, code: distrust.code }, 'state store not trusted: wiping and restoring from the changelog');
      await store.wipe(partition);
      meta = undefined;
      wiped = true;
    }
    const start = meta ? BigInt(meta.changelogOffset) : low;
    if (start >= end) {
      return { changelogOffset: meta?.changelogOffset, endOffset: end, recordsApplied: 0, wiped };
    }

    const began = Date.now();
    const outcome = await this.consume(topic, start, end, meta?.changelogOffset, offsets.map((o) => o.partition));
    logger.info(
      { topic, partition, from: start.toString(), to: outcome.endOffset.toString(), records: outcome.recordsApplied, ms: Date.now() - began, wiped },
      'state store restored',
    );
    return { ...outcome, wiped };
  }

  private async distrust(meta: { changelogOffset: string; shapeVersion: number } | undefined, low: bigint, end: bigint): Promise<TaskCorruptedError | undefined> {
    const { store, partition } = this.options;
    const context = { topic: store.definition.changelogTopic, partition };
    if (!meta) {
      return (await store.hasState(partition)) ? new TaskCorruptedError('states exist without a changelog offset', context) : undefined;
    }
    if (meta.shapeVersion !== store.definition.shapeVersion) {
      return new TaskCorruptedError(`store has shape version ${meta.shapeVersion}, code expects ${store.definition.shapeVersion}`, context);
    }
    if (!/^\d+$/.test(meta.changelogOffset)) return new TaskCorruptedError(`changelog offset "${meta.changelogOffset}" is not an offset`, context);
    const offset = BigInt(meta.changelogOffset);
    // Past the end: the changelog was recreated under us. Before the start: records it needs are gone.
    if (offset > end || offset < low) {
      return new TaskCorruptedError(`store offset ${offset} lies outside the changelog [${low}, ${end}]`, context);
    }
    const trustedUpTo = this.options.trustedUpTo;
    if (trustedUpTo !== undefined && offset > trustedUpTo) {
      return new TaskCorruptedError(`store offset ${offset} lies past records aborted at ${trustedUpTo}`, context);
    }
    return undefined;
  }

  private async consume(topic: string, start: bigint, end: bigint, storedOffset: string | undefined, allPartitions: number[]): Promise<Omit<RestoreResult, 'wiped'>> {
    const { kafka, admin, store, partition, logger, onProgress } = this.options;
    const stallTimeoutMs = this.options.stallTimeoutMs ?? 30_000;
    const flushEvery = this.options.flushEvery ?? 2_000;
    const groupId = `${this.options.ownerGroupId}.restore.${topic}.${partition}.${randomUUID().slice(0, 8)}`;
    const consumer: Consumer = kafka.consumer({ groupId, readUncommitted: false, maxWaitTimeInMs: 250, allowAutoTopicCreation: false });

    let expected = storedOffset;
    let position = start;
    let recordsApplied = 0;
    let lastProgress = Date.now();
    let failure: unknown;
    const pending = new Map<string, S>();

    const flush = async (offset: bigint): Promise<void> => {
      if (pending.size === 0 && expected === offset.toString()) return;
      const written = await store.commit(partition, expected, offset.toString(), pending);
      if (!written) {
        throw new TaskMigratedError('state store moved on during restore (another owner wrote it)', { topic, partition });
      }
      expected = offset.toString();
      pending.clear();
    };

    let settle!: (error?: unknown) => void;
    const finished = new Promise<void>((resolve, reject) => {
      settle = (error?: unknown) => (error === undefined ? resolve() : reject(error));
    });
    // Awaited later; marked handled now so a failure during the join is not an unhandled rejection.
    finished.catch(() => undefined);
    const fail = (error: unknown) => {
      failure ??= error;
      settle(failure);
    };

    // NOTE: termination. A transactional changelog ends with a commit marker (a control record)
    // that kafkajs never hands to eachBatch, so "last delivered offset + 1 == end" may never hold.
    // We therefore follow the consumer's *position*, as Kafka Streams does: kafkajs's Batch keeps
    // control and aborted records in `messagesWithinOffset`, `batch.lastOffset()` is the offset of
    // the last of them, and runner.js emits END_BATCH_PROCESS with that `lastOffset` both after
    // eachBatch and for a fetch that held only filtered records (`isEmptyDueToFiltering`, which
    // never reaches eachBatch). position = lastOffset + 1 is exactly where kafkajs fetches next,
    // so `position >= end` is reached even when the end is a marker.
    consumer.on(consumer.events.END_BATCH_PROCESS, ({ payload }) => {
      if (payload.topic !== topic || payload.partition !== partition) return;
      const next = BigInt(payload.lastOffset) + 1n;
      if (next > position) position = next;
      lastProgress = Date.now();
      if (position >= end && failure === undefined) settle();
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
      fail(new RestoreFailedError(`restore consumer crashed: ${errorMessage(payload.error)}`, { topic, partition }, payload.error));
    });

    const ticker = setInterval(() => {
      if (Date.now() - lastProgress > stallTimeoutMs) {
        fail(new RestoreFailedError(`restore stalled at offset ${position} (end ${end})`, { topic, partition, offset: position.toString() }));
      }
      onProgress?.().catch(fail);
    }, 1_000);

    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const running = consumer.run({
        autoCommit: false,
        eachBatch: async ({ batch }) => {
          if (failure !== undefined || batch.partition !== partition) return;
          // A rejoin (coordinator move, kafkajs restart) would rebuild the throwaway group's offsets
          // from its default, so a batch that does not start at our position means folding records
          // twice or missing some: give up and let the owner restore again.
          const fetchedOffset = String((batch as unknown as { fetchedOffset: string | number }).fetchedOffset);
          if (BigInt(fetchedOffset) !== position) {
            fail(new RestoreFailedError(`restore consumer jumped to ${fetchedOffset}, expected ${position}`, { topic, partition, offset: fetchedOffset }));
            return;
          }
          try {
            // NOTE: kafkajs's own aborted-record filter is trusted here (unlike in the runner, see
            // committedMessages): a changelog partition has exactly one writer, the transactional id
            // of its input partition, whose transactions never overlap, which is the case that
            // filter handles correctly.
            const records = batch.messages.map((m) => toInputRecord(topic, partition, m));
            // Every key the batch changes, read in one HMGET.
            const changed = await Promise.all(records.map((record) => keysChangedBy(store.definition, record)));
            const unknown = [...new Set(changed.flat())].filter((k) => !pending.has(k));
            const base = await store.getMany(partition, unknown);
            for (const record of records) {
              await foldChangelogRecord(
                store.definition,
                record,
                (key) => (pending.has(key) ? pending.get(key) : base.get(key)),
                (key, state) => pending.set(key, state),
              );
              recordsApplied += 1;
            }
            if (pending.size >= flushEvery) await flush(BigInt(batch.lastOffset()) + 1n);
            await onProgress?.();
          } catch (error) {
            fail(error);
          }
        },
      });
      // The consumer group exists as soon as run() is called (kafkajs creates it synchronously),
      // so pause and seek land before the first fetch, exactly as kafkajs's admin.setOffsets does.
      const others = allPartitions.filter((p) => p !== partition);
      if (others.length) consumer.pause([{ topic, partitions: others }]);
      consumer.seek({ topic, partition, offset: start.toString() });
      await running;
      await finished;
      await consumer.disconnect();
      await flush(position);
      return { changelogOffset: expected, endOffset: position, recordsApplied };
    } finally {
      clearInterval(ticker);
      await consumer.disconnect().catch(() => undefined);
      await deleteGroup(admin, groupId, logger);
    }
  }
}

// The coordinator may still be completing the member's LeaveGroup; a throwaway group left behind
// is harmless but clutters `kafka-consumer-groups --list`, so try a few times.
async function deleteGroup(admin: Admin, groupId: string, logger: Logger): Promise<void> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      await admin.deleteGroups([groupId]);
      return;
    } catch (error) {
      const notFound = JSON.stringify((error as { groups?: unknown }).groups ?? '').includes('GROUP_ID_NOT_FOUND');
      if (notFound) return;
      if (attempt >= 5) {
        logger.warn({ groupId, error: errorMessage(error) }, 'restore group not deleted');
        return;
      }
      await new Promise((resolve) => setTimeout(resolve, 200 * attempt));
    }
  }
}
