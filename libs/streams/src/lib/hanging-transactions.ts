import type { Logger } from '@waybill/platform';
import { HangingTransactionError } from './errors';
import type { CoordinatorTransactionState, DescribedTransaction, KafkaWire, RawRecord } from './kafka-wire';

/** Records of one producer id left open on a partition after its coordinator finished with them. */
export interface HangingTransaction {
  topic: string;
  partition: number;
  producerId: string;
  producerEpoch: number;
  firstOffset: bigint;
}

export type HangFate = 'commit' | 'abort';

export interface HangResolution {
  /** What was done with the hanging records (`none`: nothing hung). */
  fate: HangFate | 'none';
  /** `coordinator`: the fate the transaction coordinator recorded; `unknown`: it no longer said. */
  decidedBy: 'coordinator' | 'unknown' | 'none';
  hanging: HangingTransaction[];
  /** The producer id and epoch the fence left (the caller's producer bumps it again). */
  producerId?: string;
  producerEpoch?: number;
}

export interface ResolveHangingOptions {
  wire: KafkaWire;
  transactionalId: string;
  /** The consumer group whose offsets this transactional id commits (its offsets may hang too). */
  groupId: string;
  /** Every partition a transaction of this id may have written. */
  partitions: Array<{ topic: string; partitions: number[] }>;
  logger: Logger;
  /** How long resolved markers may take to land before giving up. Default 30 s. */
  settleTimeoutMs?: number;
}

/**
 * The open transaction of each producer id at the end of `records` (a partition read in offset
 * order, control records included): the offset and epoch of its first record after its last marker.
 */
export function openTransactions(records: readonly RawRecord[]): Map<string, { firstOffset: bigint; producerEpoch: number }> {
  const open = new Map<string, { firstOffset: bigint; producerEpoch: number }>();
  for (const record of records) {
    const { producerId, producerEpoch, inTransaction } = record.batchContext;
    if (record.isControlRecord) open.delete(producerId);
    else if (inTransaction && !open.has(producerId)) open.set(producerId, { firstOffset: BigInt(record.offset), producerEpoch });
  }
  return open;
}

/**
 * What the coordinator decided for the last transaction of the epoch it reports. Complete* and
 * Prepare* name the outcome of the transaction whose markers went missing; in any other state the
 * coordinator has moved on and no longer says.
 */
export function coordinatorFate(state: CoordinatorTransactionState | undefined): HangFate | undefined {
  switch (state) {
    case 'CompleteCommit':
    case 'PrepareCommit':
      return 'commit';
    case 'CompleteAbort':
    case 'PrepareAbort':
      return 'abort';
    default:
      return undefined;
  }
}

/** Hanging transactions of `producerIds` on `partitions`: where the LSO is pinned below the high watermark by them. */
export async function findHangingTransactions(
  wire: KafkaWire,
  partitions: ResolveHangingOptions['partitions'],
  producerIds: ReadonlySet<string>,
  logger?: Logger,
): Promise<HangingTransaction[]> {
  const found: HangingTransaction[] = [];
  const offsets = await wire.offsets(partitions);
  for (const { topic, partition, stable, high } of offsets.values()) {
    if (stable >= high) continue;
    // NOTE: the LSO is the first offset of the oldest open transaction on the partition, so every
    // open transaction lies in [LSO, HW).
    const records = await wire.readUncommitted(topic, partition, stable, high);
    const open = openTransactions(records);
    logger?.debug({ topic, partition, stable: stable.toString(), high: high.toString(), records: records.length, open: [...open.keys()] }, 'partition with open transactions');
    for (const [producerId, { firstOffset, producerEpoch }] of open) {
      if (producerIds.has(producerId)) found.push({ topic, partition, producerId, producerEpoch, firstOffset });
    }
  }
  return found;
}

/**
 * Fences every earlier holder of `transactionalId`, then closes any transaction of its producer id
 * that still hangs on `partitions`, with the fate the coordinator recorded for it.
 *
 * NOTE: why this exists. A broker that restarts while a transaction is in PrepareCommit resends its
 * markers during load; when its metadata does not know the partitions yet it skips them as
 * "likely deleted" (TransactionMarkerChannelManager) and still writes CompleteCommit. The records
 * stay open: invisible to read_committed readers, the LSO pinned, and the next marker of that
 * producer id, whatever its epoch, decides them together with whatever it wrote meanwhile. A new
 * owner that restored its store to the LSO and read the group offset from before that transaction
 * decides the same input again, and its commit makes both copies visible (a duplicate). kafkajs
 * speaks transactions v1 only, so the broker's KIP-890 defences do not apply.
 *
 * The fate is read before the fence, while the coordinator still reports the epoch that left the
 * records: CompleteCommit → commit them (a decision the coordinator committed is never dropped),
 * CompleteAbort → abort them. Markers are written by an empty transaction of the fenced epoch that
 * holds exactly the hanging partitions and the group's offsets partition, so no record is added.
 * When the coordinator no longer reports the fate (another fence came between), the records are
 * aborted: no read_committed reader has seen them, and the caller redoes the work from the
 * committed offsets with a store no newer than the aborted records.
 */
export async function fenceAndResolveHanging(options: ResolveHangingOptions): Promise<HangResolution> {
  const { wire, transactionalId, partitions, logger } = options;
  const described: DescribedTransaction | undefined = await wire.describeTransaction(transactionalId);
  const fenced = await wire.initProducerId(transactionalId);
  if (!described) return { fate: 'none', decidedBy: 'none', hanging: [], ...fenced };

  const producerIds = new Set([described.producerId, fenced.producerId]);
  const hanging = await findHangingTransactions(wire, partitions, producerIds, logger);
  if (!hanging.length) return { fate: 'none', decidedBy: 'none', hanging, ...fenced };

  const recorded = coordinatorFate(described.state);
  const fate = recorded ?? 'abort';
  logger.warn(
    {
      transactionalId,
      coordinatorState: described.state,
      producerId: described.producerId,
      producerEpoch: described.producerEpoch,
      hanging: hanging.map((h) => `${h.topic}:${h.partition}@${h.firstOffset} (epoch ${h.producerEpoch})`),
      fate,
    },
    recorded
      ? `hanging transaction found (markers lost, LSO pinned): completing it as the coordinator decided (${fate})`
      : 'hanging transaction found and the coordinator no longer says how it ended: aborting it (nobody has read it)',
  );
  await closeHanging({ ...options, producerId: fenced.producerId, producerEpoch: fenced.producerEpoch, hanging, fate });
  return { fate, decidedBy: recorded ? 'coordinator' : 'unknown', hanging, ...fenced };
}

/**
 * Writes the markers for `hanging` with an empty transaction of (producerId, producerEpoch) that
 * holds exactly those partitions and the group's offsets partition, then waits until none of
 * them is open any more: nothing may be decided there before.
 */
async function closeHanging(options: ResolveHangingOptions & { producerId: string; producerEpoch: number; hanging: HangingTransaction[]; fate: HangFate }): Promise<void> {
  const { wire, transactionalId, groupId, producerId, producerEpoch, hanging, fate } = options;
  const byTopic = new Map<string, number[]>();
  for (const h of hanging) byTopic.set(h.topic, [...new Set([...(byTopic.get(h.topic) ?? []), h.partition])]);
  const topics = [...byTopic].map(([topic, parts]) => ({ topic, partitions: parts }));
  await wire.endEmptyTransaction({ transactionalId, producerId, producerEpoch, topics, groupId, commit: fate === 'commit' });
  // EndTxn answers once the coordinator logged its decision; the markers follow.
  const producerIds = new Set(hanging.map((h) => h.producerId));
  const deadline = Date.now() + (options.settleTimeoutMs ?? 30_000);
  for (;;) {
    const left = await findHangingTransactions(wire, topics, producerIds);
    if (!left.length) break;
    if (Date.now() > deadline) {
      throw new HangingTransactionError(`transaction of ${transactionalId} still hangs after ${fate}: ${left.map((h) => `${h.topic}:${h.partition}@${h.firstOffset}`).join(', ')}`, { transactionalId });
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  options.logger.info({ transactionalId, fate, partitions: hanging.map((h) => `${h.topic}:${h.partition}`) }, 'hanging transaction resolved');
}

/**
 * For a task that keeps its producer: commits records of the producer's *current* epoch that hang
 * on `partitions`. A live task only goes on after a commit that was answered (any failure throws
 * the task away and its successor fences), so such records belong to a transaction the
 * coordinator committed whose markers a restarting broker lost; its next transaction would
 * commit them too, but only on the partitions it happens to write again, and until then the
 * partition is stuck for every read_committed reader. Must run between two transactions of the
 * task; returns what it closed.
 */
export async function commitHangingOfLiveProducer(options: ResolveHangingOptions): Promise<HangingTransaction[]> {
  const { wire, transactionalId, partitions, logger } = options;
  const described = await wire.describeTransaction(transactionalId);
  if (!described || described.state !== 'CompleteCommit') return [];
  const found = await findHangingTransactions(wire, partitions, new Set([described.producerId]));
  const hanging = found.filter((h) => h.producerEpoch === described.producerEpoch);
  if (hanging.length < found.length) {
    logger.warn({ transactionalId, older: found.filter((h) => h.producerEpoch !== described.producerEpoch).map((h) => `${h.topic}:${h.partition}@${h.firstOffset}`) }, 'records of an older epoch hang; the next assignment resolves them');
  }
  if (!hanging.length) return [];
  logger.warn(
    { transactionalId, producerId: described.producerId, producerEpoch: described.producerEpoch, hanging: hanging.map((h) => `${h.topic}:${h.partition}@${h.firstOffset}`) },
    'hanging transaction of this live producer (markers lost after a broker restart, LSO pinned): committing it, as the coordinator did',
  );
  await closeHanging({ ...options, producerId: described.producerId, producerEpoch: described.producerEpoch, hanging, fate: 'commit' });
  return hanging;
}
