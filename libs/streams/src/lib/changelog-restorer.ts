import { randomUUID } from 'node:crypto';
import type { Admin, Kafka } from 'kafkajs';
import type { Logger } from '@waybill/platform';
import { replayPartitions } from './bounded-replay';
import { BoundedReplayError, IllegalStateTransitionError, RestoreFailedError, TaskCorruptedError, TaskMigratedError, errorMessage, isRebalanceError } from './errors';
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
 * Brings one partition's state store up to the end of its changelog partition: replays the
 * changelog from the store's offset to the end (`replayPartitions`, a throwaway consumer group
 * named after the owner's) and folds the committed records into the store.
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
    const outcome = await this.consume(topic, start, end, meta?.changelogOffset);
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

  private async consume(topic: string, start: bigint, end: bigint, storedOffset: string | undefined): Promise<Omit<RestoreResult, 'wiped'>> {
    const { kafka, admin, store, partition, logger, onProgress } = this.options;
    const flushEvery = this.options.flushEvery ?? 2_000;
    let expected = storedOffset;
    let recordsApplied = 0;
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

    try {
      await replayPartitions({
        kafka,
        admin,
        logger,
        groupId: `${this.options.ownerGroupId}.restore.${topic}.${partition}.${randomUUID().slice(0, 8)}`,
        ranges: [{ topic, partition, from: start, to: end }],
        stallTimeoutMs: this.options.stallTimeoutMs ?? 30_000,
        onProgress,
        onRecords: async (_range, messages) => {
          const records = messages.map((m) => toInputRecord(topic, partition, m));
          // Every key these records change, read in one HMGET.
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
          if (pending.size >= flushEvery) await flush(BigInt(records[records.length - 1].offset) + 1n);
        },
      });
    } catch (error) {
      // A crash of the throwaway consumer may carry a rebalance error; it is not the owner's, so it
      // must not reach the owner's kafkajs runner as one.
      if (error instanceof BoundedReplayError) throw new RestoreFailedError(`restore failed: ${error.message}`, { ...error.context, topic, partition }, error);
      throw error;
    }
    await flush(end);
    return { changelogOffset: expected, endOffset: end, recordsApplied };
  }
}
