import type { Admin, Kafka, KafkaMessage, Message, Producer, RecordMetadata, Transaction } from 'kafkajs';
import { failpoint, type Logger } from '@waybill/platform';
import { ChangelogRestorer } from './changelog-restorer';
import { deadLetterRecord, type BadRecordHandler } from './dead-letter';
import { commitHangingOfLiveProducer, fenceAndResolveHanging, type HangingTransaction } from './hanging-transactions';
import type { KafkaWire } from './kafka-wire';
import { BadRecordError, TaskCorruptedError, TaskMigratedError, errorMessage, isFencingError } from './errors';
import { foldChangelogRecord, toInputRecord, type InputRecord, type OutputRecord, type Processor, type ProcessorContext } from './processor';
import type { RedisStateStore } from './state-store';

export interface PartitionTaskOptions<S> {
  kafka: Kafka;
  admin: Admin;
  groupId: string;
  inputTopic: string;
  partition: number;
  transactionalId: string;
  processor: Processor<S>;
  store?: RedisStateStore<S>;
  onBadRecord: BadRecordHandler;
  logger: Logger;
  restoreStallTimeoutMs?: number;
  /** The transaction protocol spoken directly: fencing and hanging-transaction resolution. */
  wire: KafkaWire;
  /** Every partition a transaction of this task may write (its hanging records are looked for there). */
  outputPartitions: () => Promise<Array<{ topic: string; partitions: number[] }>>;
  /**
   * A chunk that writes nothing commits its offset at most this often (ms): the others wait for
   * the next chunk's transaction, or for this long at idle. 0 commits every chunk.
   */
  quietCommitIntervalMs?: number;
}

/** The default of `quietCommitIntervalMs`, like Kafka Streams' commit.interval.ms under exactly-once (100 ms is theirs; ours trades more replay for fewer transactions). */
export const QUIET_COMMIT_INTERVAL_MS = 1_000;

/** The phases of a chunk, in order (docs: bench/README.md, "Where the time goes"). */
export const CHUNK_PHASES = ['read', 'decide', 'produce', 'offsets', 'commit', 'store'] as const;
export type ChunkPhase = (typeof CHUNK_PHASES)[number];

export interface ChunkResult {
  processed: number;
  deadLettered: number;
  /** Seconds spent in each phase (a phase the chunk skipped is absent). */
  phases: Partial<Record<ChunkPhase, number>>;
  /** False when Kafka committed but Redis was not written: the task must restore before it decides again. */
  storeWritten: boolean;
}

interface PendingChangelog {
  record: OutputRecord;
  timestamp: string;
}

/**
 * Everything one owned input partition needs: its transactional producer (fencing a zombie on
 * init), its state store position, and the per-batch transaction. A task is used until anything
 * goes wrong and then thrown away; a new one starts with init() again, so no state survives a failure.
 */
export class PartitionTask<S> {
  private producer: Producer | undefined;
  private storeOffset: string | undefined;
  private nextChangelogOffset = 0n;
  private initialized = false;
  private disposed = false;
  private busy: Promise<unknown> = Promise.resolve();
  private fencedProducerId: string | undefined;
  private readonly log: Logger;
  private lastCommitAt = 0;
  /** The offset past chunks that wrote nothing and were not committed yet. */
  private quietOffset: bigint | undefined;
  private quietTimer: NodeJS.Timeout | undefined;

  constructor(private readonly options: PartitionTaskOptions<S>) {
    this.log = options.logger.child({ partition: options.partition, transactionalId: options.transactionalId });
  }

  get ready(): boolean {
    return this.initialized && !this.disposed;
  }

  get isDisposed(): boolean {
    return this.disposed;
  }

  /**
   * Fences any previous owner, closes any transaction of this transactional id that hangs on the
   * task's output partitions (as the coordinator decided it), then brings the store to the end of
   * the changelog partition. Nothing is decided before all three are done.
   */
  async init(onProgress: () => Promise<void>): Promise<void> {
    const { kafka, transactionalId, store, wire, groupId, partition } = this.options;
    const resolution = await fenceAndResolveHanging({ wire, transactionalId, groupId, partitions: await this.options.outputPartitions(), logger: this.log });
    this.fencedProducerId = resolution.producerId;
    // NOTE: right after a commit the coordinator may still be writing markers and answers the next
    // transaction's AddPartitionsToTxn with CONCURRENT_TRANSACTIONS. The patched kafkajs asks again
    // inside its transaction manager (patches/kafkajs+2.2.4.patch); should that give up, a send is
    // retried here, fast first: kafkajs's default first retry (300 ms) would cap a partition at ~3
    // transactions/s.
    const producer = kafka.producer({
      transactionalId,
      idempotent: true,
      maxInFlightRequests: 1,
      allowAutoTopicCreation: false,
      retry: { initialRetryTime: 10, maxRetryTime: 2_000, retries: Number.MAX_SAFE_INTEGER },
    });
    this.producer = producer;
    await producer.connect();
    // NOTE: kafkajs sends InitProducerId lazily, on the first transaction(). Opening and aborting an
    // empty one does it now, so this producer holds the newest epoch before anything is decided.
    // abort() with nothing added sends no EndTxn (eosManager isOngoing), so kafkajs #469 does not apply.
    const transaction = await producer.transaction();
    await transaction.abort();
    if (store) {
      // Records of ours that were just aborted may be in a store an earlier owner wrote after a
      // commit it believed in; such a store is not trusted past their first offset.
      const aborted = resolution.fate === 'abort' ? resolution.hanging.find((h) => h.topic === store.definition.changelogTopic && h.partition === partition) : undefined;
      const restorer = new ChangelogRestorer({
        kafka,
        admin: this.options.admin,
        wire,
        store,
        partition,
        ownerGroupId: groupId,
        logger: this.log,
        onProgress,
        stallTimeoutMs: this.options.restoreStallTimeoutMs,
        trustedUpTo: aborted?.firstOffset,
      });
      const restored = await restorer.restore();
      this.storeOffset = restored.changelogOffset;
      this.nextChangelogOffset = restored.endOffset;
    }
    this.initialized = true;
  }

  /**
   * Processes `messages` (in offset order) in one transaction that also commits `commitOffset` for
   * the group, then writes the changed states and the changelog offset to Redis.
   */
  runChunk(messages: KafkaMessage[], commitOffset: bigint): Promise<ChunkResult> {
    return this.exclusively(() => this.execute(messages, commitOffset));
  }

  /** The producer id of this task's transactions, once init() has fenced. */
  get producerId(): string | undefined {
    return this.fencedProducerId;
  }

  /**
   * Between two chunks: commits records of this task's own producer that a restarting broker left
   * hanging on `partitions` after a commit it had answered (see commitHangingOfLiveProducer).
   */
  closeHanging(partitions: Array<{ topic: string; partitions: number[] }>): Promise<HangingTransaction[]> {
    return this.exclusively(async () => {
      if (!this.ready) return [];
      const { wire, transactionalId, groupId } = this.options;
      return commitHangingOfLiveProducer({ wire, transactionalId, groupId, partitions, logger: this.log });
    });
  }

  private exclusively<T>(work: () => Promise<T>): Promise<T> {
    const run = this.busy.then(work);
    this.busy = run.catch(() => undefined);
    return run;
  }

  /**
   * Waits for the chunk in hand, then closes the producer. An offset of quiet chunks not committed
   * yet stays so (a revoke must not wait on a broker that may be gone): their next owner decides
   * them again, writing nothing again.
   */
  async dispose(): Promise<void> {
    this.disposed = true;
    clearTimeout(this.quietTimer);
    await this.busy;
    await this.producer?.disconnect().catch((error: unknown) => this.log.debug({ error: errorMessage(error) }, 'producer disconnect failed'));
    this.producer = undefined;
  }

  private async execute(messages: KafkaMessage[], commitOffset: bigint): Promise<ChunkResult> {
    const { inputTopic, partition, processor, store, onBadRecord, groupId } = this.options;
    const producer = this.producer;
    if (!producer || !this.ready) throw new TaskMigratedError('task is not initialised or was closed', { topic: inputTopic, partition });
    const records = messages.map((m) => toInputRecord(inputTopic, partition, m));
    const changelogTopic = store?.definition.changelogTopic;
    const phases: Partial<Record<ChunkPhase, number>> = {};
    let phaseStart = process.hrtime.bigint();
    const endPhase = (phase: ChunkPhase) => {
      const now = process.hrtime.bigint();
      phases[phase] = (phases[phase] ?? 0) + Number(now - phaseStart) / 1e9;
      phaseStart = now;
    };

    // States as Redis has them before this chunk, read together with the meta: a store wiped or
    // moved on since this task restored it would hand out states that lag the changelog.
    const readChecked = async (keys: string[]): Promise<Map<string, S | undefined>> => {
      if (!store) return new Map(keys.map((k) => [k, undefined]));
      const states = await store.getManyChecked(partition, keys, this.storeOffset);
      if (!states) throw new TaskCorruptedError('state store changed under this task (wiped, or written by another owner)', { topic: changelogTopic, partition });
      return states;
    };
    const wanted = new Set(records.map((r) => r.key));
    const { keysToRead } = processor;
    if (keysToRead) {
      for (const record of records) {
        const keys = await Promise.resolve()
          .then(() => keysToRead.call(processor, record))
          .catch(() => []);
        for (const key of keys) wanted.add(key);
      }
    }
    const base = await readChecked([...wanted]);
    endPhase('read');
    const loadBase = async (key: string): Promise<S | undefined> => {
      if (!base.has(key)) base.set(key, (await readChecked([key])).get(key));
      return base.get(key);
    };
    // States as this chunk's earlier records left them.
    const overlay = new Map<string, S>();
    const ctx: ProcessorContext<S> = {
      getState: async (key) => (overlay.has(key) ? overlay.get(key) : loadBase(key)),
    };

    const outputs: Array<OutputRecord & { timestamp: string }> = [];
    const changelog: PendingChangelog[] = [];
    let deadLettered = 0;
    let predicted = this.nextChangelogOffset;
    for (const record of records) {
      let produced: OutputRecord[];
      try {
        produced = await processor.process(record, ctx);
      } catch (error) {
        const decision = this.decide(onBadRecord, record, error);
        if (decision !== 'continue') {
          throw new BadRecordError(`record ${record.topic}/${record.partition}@${record.offset} failed: ${errorMessage(error)}`, { topic: record.topic, partition, offset: record.offset }, error);
        }
        this.log.warn({ offset: record.offset, key: record.key, error: errorMessage(error) }, 'bad record dead-lettered');
        produced = [deadLetterRecord(record, error, groupId)];
        deadLettered += 1;
      }
      for (const output of produced) {
        const timestamp = String(Date.now());
        if (store && output.topic === changelogTopic) {
          // NOTE: changelog partition p holds exactly the aggregates of input partition p (same key,
          // same partition count), and the restore of p reads only p, so the partition is forced.
          const pinned: OutputRecord = { ...output, partition };
          await foldChangelogRecord(
            store.definition,
            asChangelogRecord(pinned, predicted, timestamp),
            (key) => (overlay.has(key) ? overlay.get(key) : loadBase(key)),
            (key, state) => overlay.set(key, state),
          );
          predicted += 1n;
          changelog.push({ record: pinned, timestamp });
          outputs.push({ ...pinned, timestamp });
        } else {
          outputs.push({ ...output, timestamp });
        }
      }
    }

    endPhase('decide');
    const result = { processed: records.length, deadLettered, phases };
    // NOTE: a chunk that writes nothing changes no state and answers nobody, and deciding it again
    // writes nothing again, so its offset may ride on the next transaction: most of the
    // accounting-listener's input (every shipment event but the shipped and corrected ones) costs no
    // transaction of its own (AddOffsetsToTxn, TxnOffsetCommit, EndTxn, two coordinator log
    // appends and a marker on the broker). After a crash the next owner decides them again.
    const quietFor = this.options.quietCommitIntervalMs ?? QUIET_COMMIT_INTERVAL_MS;
    if (outputs.length === 0 && quietFor > 0 && Date.now() - this.lastCommitAt < quietFor) {
      this.quietOffset = commitOffset;
      this.quietTimer ??= setTimeout(() => {
        this.quietTimer = undefined;
        void this.exclusively(() => this.commitQuietOffset()).catch((error: unknown) => this.log.warn({ error: errorMessage(error) }, 'could not commit the offset of quiet chunks; the next chunk will'));
      }, quietFor);
      return { ...result, storeWritten: true };
    }
    const metadata = await this.commitTransaction(producer, outputs, commitOffset, endPhase);
    if (!store || changelog.length === 0) return { ...result, storeWritten: true };
    const storeWritten = await this.writeStore(store, changelog, metadata, base, overlay);
    endPhase('store');
    return { ...result, storeWritten };
  }

  /** Commits the offset past quiet chunks in a transaction of its own, when no chunk did since. */
  private async commitQuietOffset(): Promise<void> {
    const producer = this.producer;
    if (this.quietOffset === undefined || !producer || !this.ready) return;
    await this.commitTransaction(producer, [], this.quietOffset, () => undefined, { failpoints: false });
  }

  /** One transaction: the outputs, the group's offset `commitOffset`, the commit. */
  private async commitTransaction(
    producer: Producer,
    outputs: Array<OutputRecord & { timestamp: string }>,
    commitOffset: bigint,
    endPhase: (phase: ChunkPhase) => void,
    { failpoints = true } = {},
  ): Promise<RecordMetadata[]> {
    const { inputTopic, partition, groupId } = this.options;
    const transaction = await producer.transaction();
    let metadata: RecordMetadata[] = [];
    try {
      // NOTE: one sendBatch, never concurrent sends: parallel sends on an idempotent producer give
      // OUT_OF_ORDER_SEQUENCE_NUMBER or lose messages (kafkajs #598, #1005).
      if (outputs.length) metadata = await transaction.sendBatch({ topicMessages: byTopic(outputs), acks: -1 });
      endPhase('produce');
      // NOTE: the committed offset is the next one to read (last processed + 1).
      await transaction.sendOffsets({
        consumerGroupId: groupId,
        topics: [{ topic: inputTopic, partitions: [{ partition, offset: commitOffset.toString() }] }],
      });
      endPhase('offsets');
      if (failpoints) failpoint('streams.before-commit');
      await transaction.commit();
      endPhase('commit');
      this.lastCommitAt = Date.now();
      if (this.quietOffset !== undefined && this.quietOffset <= commitOffset) this.quietOffset = undefined;
      if (failpoints) failpoint('streams.after-commit');
    } catch (error) {
      await this.abortQuietly(transaction);
      if (isFencingError(error)) {
        throw new TaskMigratedError(`producer fenced: another owner initialised ${this.options.transactionalId}`, { topic: inputTopic, partition }, error);
      }
      throw error;
    }
    return metadata;
  }

  private async writeStore(
    store: RedisStateStore<S>,
    changelog: PendingChangelog[],
    metadata: RecordMetadata[],
    base: Map<string, S | undefined>,
    decided: ReadonlyMap<string, S>,
  ): Promise<boolean> {
    const { partition } = this.options;
    const changelogTopic = store.definition.changelogTopic;
    const written = metadata.find((m) => m.topicName === changelogTopic && m.partition === partition);
    if (!written?.baseOffset) {
      this.log.warn({ changelogTopic }, 'no base offset for the changelog partition in the produce response');
      return false;
    }
    // One produce request puts this partition's records in one record batch, so their offsets run
    // baseOffset, baseOffset + 1, ... in the order sent. States are folded again with those exact
    // offsets, so what Redis holds is what a restore would compute.
    const baseOffset = BigInt(written.baseOffset);
    const changelogOffset = baseOffset + BigInt(changelog.length);
    // NOTE: the transaction's commit marker takes the offset right after our last record.
    this.nextChangelogOffset = changelogOffset + 1n;
    try {
      let finals = decided;
      if (!store.definition.ignoresPosition) {
        const refolded = new Map<string, S>();
        for (const [index, { record, timestamp }] of changelog.entries()) {
          await foldChangelogRecord(
            store.definition,
            asChangelogRecord(record, baseOffset + BigInt(index), timestamp),
            // The live fold read every key it changed into `base`.
            (key) => (refolded.has(key) ? refolded.get(key) : base.get(key)),
            (key, state) => refolded.set(key, state),
          );
        }
        finals = refolded;
      }
      const applied = await store.commit(partition, this.storeOffset, changelogOffset.toString(), finals);
      if (!applied) {
        this.log.warn({ expected: this.storeOffset }, 'state store moved on under this task (a newer owner wrote it); not written');
        return false;
      }
      this.storeOffset = changelogOffset.toString();
      return true;
    } catch (error) {
      this.log.warn({ error: errorMessage(error) }, 'state store write failed after the Kafka commit; the partition will restore');
      return false;
    }
  }

  private decide(onBadRecord: BadRecordHandler, record: InputRecord, error: unknown): 'continue' | 'fail' {
    try {
      return onBadRecord(record, error);
    } catch (policyError) {
      this.log.error({ error: errorMessage(policyError) }, 'bad-record policy threw; failing');
      return 'fail';
    }
  }

  private async abortQuietly(transaction: Transaction): Promise<void> {
    try {
      await transaction.abort();
    } catch (error) {
      // NOTE: a failed abort leaves kafkajs's eosManager stuck in ABORTING (kafkajs #1355); the
      // caller throws this task away and a new one creates a new producer.
      this.log.warn({ error: errorMessage(error) }, 'transaction abort failed');
    }
  }
}

function asChangelogRecord(record: OutputRecord, offset: bigint, timestamp: string): InputRecord {
  return {
    topic: record.topic,
    partition: record.partition ?? -1,
    offset: offset.toString(),
    key: record.key,
    value: record.value,
    headers: record.headers ?? {},
    timestamp,
  };
}

function byTopic(outputs: Array<OutputRecord & { timestamp: string }>): Array<{ topic: string; messages: Message[] }> {
  const grouped = new Map<string, Message[]>();
  for (const output of outputs) {
    const messages = grouped.get(output.topic) ?? [];
    messages.push({ key: output.key, value: output.value, headers: output.headers, partition: output.partition, timestamp: output.timestamp });
    grouped.set(output.topic, messages);
  }
  return [...grouped].map(([topic, messages]) => ({ topic, messages }));
}
