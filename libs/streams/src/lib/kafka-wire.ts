import type { Kafka } from 'kafkajs';
import { StreamsConfigError, errorMessage } from './errors';

// kafkajs 2.2.4 has no public API for what resolving a hanging transaction needs: DescribeTransactions
// (KIP-664), a bare AddPartitionsToTxn/EndTxn without producing a record, and a READ_UNCOMMITTED
// fetch that keeps producer ids and control records. Its Broker class speaks every one of the
// classic requests, and its Connection sends any request object with an encoder, so the few calls
// we need go through a private kafkajs cluster. kafkajs is pinned (2.2.4, unmaintained since
// 2024), and kafka-wire.int.spec.ts breaks loudly if these internals move.

/** The `TransactionState` names the coordinator reports (Kafka's TransactionState.stateName). */
export type CoordinatorTransactionState =
  | 'Empty'
  | 'Ongoing'
  | 'PrepareCommit'
  | 'PrepareAbort'
  | 'CompleteCommit'
  | 'CompleteAbort'
  | 'Dead'
  | 'PrepareEpochFence';

export interface DescribedTransaction {
  state: CoordinatorTransactionState;
  producerId: string;
  producerEpoch: number;
  /** For Ongoing: every partition in the transaction; for Prepare*: those still without markers. */
  topics: Array<{ topic: string; partitions: number[] }>;
}

/** One record as a READ_UNCOMMITTED fetch holds it, control records included. */
export interface RawRecord {
  offset: string;
  isControlRecord: boolean;
  key: Buffer | null;
  batchContext: { producerId: string; producerEpoch: number; inTransaction: boolean };
}

/** A fetched record with its value and Kafka timestamp (epoch ms, decimal). */
export interface FetchedRecord extends RawRecord {
  timestamp: string;
  value: Buffer | null;
}

/** Where a partition ends for read_committed (`stable`, the LSO) and read_uncommitted (`high`). */
export interface PartitionEnds {
  topic: string;
  partition: number;
  stable: bigint;
  high: bigint;
}

interface WireRequest {
  apiKey: number;
  apiVersion: number;
  apiName: string;
  encode(): Promise<{ buf: Buffer; buffer: Buffer }>;
}

interface WireResponse {
  decode(payload: Buffer): Promise<unknown>;
  parse(decoded: unknown): Promise<unknown>;
}

interface PartitionOffsets {
  partition: number;
  errorCode: number;
  offset: string;
}

interface FetchedPartition {
  partition: number;
  errorCode: number;
  highWatermark: string;
  lastStableOffset: string;
  messages: FetchedRecord[];
}

/** The slice of kafkajs's private Broker this module uses. */
interface KafkajsBroker {
  connectionPool: { send(request: { request: WireRequest; response: WireResponse }): Promise<unknown> };
  initProducerId(args: { transactionalId: string; transactionTimeout: number }): Promise<{ producerId: string; producerEpoch: number }>;
  addPartitionsToTxn(args: { transactionalId: string; producerId: string; producerEpoch: number; topics: Array<{ topic: string; partitions: number[] }> }): Promise<unknown>;
  addOffsetsToTxn(args: { transactionalId: string; producerId: string; producerEpoch: number; groupId: string }): Promise<unknown>;
  endTxn(args: { transactionalId: string; producerId: string; producerEpoch: number; transactionResult: boolean }): Promise<unknown>;
  listOffsets(args: { replicaId: number; isolationLevel: number; topics: Array<{ topic: string; partitions: Array<{ partition: number; timestamp: number }> }> }): Promise<{
    responses: Array<{ topic: string; partitions: PartitionOffsets[] }>;
  }>;
  fetch(args: {
    replicaId: number;
    isolationLevel: number;
    maxWaitTime: number;
    minBytes: number;
    maxBytes: number;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; fetchOffset: string; maxBytes: number }> }>;
  }): Promise<{ responses: Array<{ topicName: string; partitions: FetchedPartition[] }> }>;
}

/** The slice of kafkajs's private Cluster this module uses. */
interface KafkajsCluster {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  refreshMetadata(): Promise<void>;
  addMultipleTargetTopics(topics: string[]): Promise<void>;
  findGroupCoordinator(args: { groupId: string; coordinatorType: number }): Promise<KafkajsBroker>;
  findLeaderForPartitions(topic: string, partitions: number[]): Record<string, number[]>;
  findBroker(args: { nodeId: string }): Promise<KafkajsBroker>;
}

const TRANSACTION_COORDINATOR = 1;
const READ_UNCOMMITTED = 0;
/** A range read takes what the broker gives in one answer. */
const WHOLE_FETCH_BYTES = 4_194_304;
/** A point read wants one record; the broker still answers with at least the whole batch holding it. */
const POINT_FETCH_BYTES = 65_536;
const READ_COMMITTED = 1;
const LATEST = -1;
const DESCRIBE_TRANSACTIONS = 65;
/** Kafka error codes a caller should wait out and ask again. */
const RETRIABLE_CODES = new Set([
  'CONCURRENT_TRANSACTIONS',
  'COORDINATOR_LOAD_IN_PROGRESS',
  'COORDINATOR_NOT_AVAILABLE',
  'NOT_COORDINATOR',
  'NOT_LEADER_FOR_PARTITION',
  'NOT_LEADER_OR_FOLLOWER',
  'LEADER_NOT_AVAILABLE',
  'UNKNOWN_TOPIC_OR_PARTITION',
]);

export class KafkaWireError extends Error {
  constructor(
    message: string,
    readonly type: string,
  ) {
    super(message);
    this.name = 'KafkaWireError';
  }
}

const ERROR_NAMES: Record<number, string> = {
  0: 'NONE',
  1: 'OFFSET_OUT_OF_RANGE',
  3: 'UNKNOWN_TOPIC_OR_PARTITION',
  6: 'NOT_LEADER_OR_FOLLOWER',
  14: 'COORDINATOR_LOAD_IN_PROGRESS',
  15: 'COORDINATOR_NOT_AVAILABLE',
  16: 'NOT_COORDINATOR',
  51: 'CONCURRENT_TRANSACTIONS',
  53: 'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  105: 'TRANSACTIONAL_ID_NOT_FOUND',
};

function isRetriable(error: unknown): boolean {
  const { type, retriable, name } = error as { type?: unknown; retriable?: unknown; name?: unknown };
  if (typeof type === 'string' && RETRIABLE_CODES.has(type)) return true;
  // A broker that restarts under us: kafkajs's connection errors are marked retriable.
  return retriable === true || name === 'KafkaJSConnectionError' || name === 'KafkaJSConnectionClosedError';
}

/**
 * A connection to the cluster that speaks the transaction protocol directly (no kafkajs
 * producer state machine in between) and reads partitions READ_UNCOMMITTED with producer ids.
 */
export class KafkaWire {
  private readonly cluster: KafkajsCluster;
  private connected = false;

  constructor(kafka: Kafka) {
    const create = Object.getOwnPropertySymbols(kafka).find((symbol) => symbol.description === 'private:Kafka:createCluster');
    const factory = create ? (kafka as unknown as Record<symbol, unknown>)[create] : undefined;
    if (typeof factory !== 'function') throw new StreamsConfigError('this kafkajs version has no private cluster factory; kafka-wire needs kafkajs 2.2.x');
    this.cluster = factory({ allowAutoTopicCreation: false, isolationLevel: READ_UNCOMMITTED }) as KafkajsCluster;
  }

  async connect(): Promise<void> {
    if (this.connected) return;
    await this.cluster.connect();
    this.connected = true;
  }

  async disconnect(): Promise<void> {
    this.connected = false;
    await this.cluster.disconnect().catch(() => undefined);
  }

  /** Asks again while the coordinator or leader answers with a retriable error, up to `timeoutMs`. */
  async retrying<T>(call: () => Promise<T>, timeoutMs = 30_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (let attempt = 1; ; attempt += 1) {
      try {
        return await call();
      } catch (error) {
        if (!isRetriable(error) || Date.now() > deadline) throw error;
        if ((error as { type?: string }).type !== 'CONCURRENT_TRANSACTIONS') await this.cluster.refreshMetadata().catch(() => undefined);
        await new Promise((resolve) => setTimeout(resolve, Math.min(500, 10 * 2 ** attempt)));
      }
    }
  }

  private coordinator(transactionalId: string): Promise<KafkajsBroker> {
    return this.cluster.findGroupCoordinator({ groupId: transactionalId, coordinatorType: TRANSACTION_COORDINATOR });
  }

  /** DescribeTransactions v0; `undefined` when the coordinator has never heard of the id. */
  async describeTransaction(transactionalId: string): Promise<DescribedTransaction | undefined> {
    return this.retrying(async () => {
      const broker = await this.coordinator(transactionalId);
      const result = (await broker.connectionPool.send({
        request: describeTransactionsRequest([transactionalId]),
        response: { decode: async (payload) => decodeDescribeTransactions(payload), parse: async (decoded) => decoded },
      })) as Array<DescribedTransaction & { errorCode: number }>;
      const [entry] = result;
      if (!entry) throw new KafkaWireError(`DescribeTransactions returned nothing for ${transactionalId}`, 'UNKNOWN');
      const type = ERROR_NAMES[entry.errorCode] ?? `ERROR_${entry.errorCode}`;
      if (type === 'TRANSACTIONAL_ID_NOT_FOUND') return undefined;
      if (entry.errorCode !== 0) throw new KafkaWireError(`DescribeTransactions(${transactionalId}): ${type}`, type);
      return { state: entry.state, producerId: entry.producerId, producerEpoch: entry.producerEpoch, topics: entry.topics };
    });
  }

  /** InitProducerId: bumps the epoch (fencing every earlier holder) and aborts an open transaction. */
  async initProducerId(transactionalId: string, transactionTimeout = 60_000): Promise<{ producerId: string; producerEpoch: number }> {
    const { producerId, producerEpoch } = await this.retrying(async () => (await this.coordinator(transactionalId)).initProducerId({ transactionalId, transactionTimeout }), 90_000);
    return { producerId, producerEpoch };
  }

  /**
   * One transaction of (producerId, producerEpoch) that holds `topics` and the group's offsets
   * partition and writes nothing, ended with `commit`: its markers close whatever that producer
   * id left open on those partitions.
   */
  async endEmptyTransaction(args: {
    transactionalId: string;
    producerId: string;
    producerEpoch: number;
    topics: Array<{ topic: string; partitions: number[] }>;
    groupId?: string;
    commit: boolean;
  }): Promise<void> {
    const { transactionalId, producerId, producerEpoch, topics, groupId, commit } = args;
    if (topics.length) {
      await this.retrying(async () => (await this.coordinator(transactionalId)).addPartitionsToTxn({ transactionalId, producerId, producerEpoch, topics }));
    }
    if (groupId) {
      await this.retrying(async () => (await this.coordinator(transactionalId)).addOffsetsToTxn({ transactionalId, producerId, producerEpoch, groupId }));
    }
    await this.retrying(async () => (await this.coordinator(transactionalId)).endTxn({ transactionalId, producerId, producerEpoch, transactionResult: commit }));
  }

  /** Last stable offset and high watermark of each partition of `topics` (ListOffsets, latest), keyed `topic:partition`. */
  async offsets(topics: Array<{ topic: string; partitions: number[] }>): Promise<Map<string, PartitionEnds>> {
    const result = new Map<string, PartitionEnds>();
    if (!topics.length) return result;
    await this.cluster.addMultipleTargetTopics(topics.map((t) => t.topic));
    for (const [isolationLevel, field] of [
      [READ_COMMITTED, 'stable'],
      [READ_UNCOMMITTED, 'high'],
    ] as const) {
      await this.retrying(async () => {
        for (const { broker, topic, partitions } of await this.leaders(topics)) {
          const answer = await broker.listOffsets({ replicaId: -1, isolationLevel, topics: [{ topic, partitions: partitions.map((partition) => ({ partition, timestamp: LATEST })) }] });
          for (const response of answer.responses) {
            for (const p of response.partitions) {
              if (p.errorCode) throw new KafkaWireError(`ListOffsets ${response.topic}-${p.partition}: ${ERROR_NAMES[p.errorCode] ?? p.errorCode}`, ERROR_NAMES[p.errorCode] ?? 'UNKNOWN');
              const key = `${response.topic}:${p.partition}`;
              const entry = result.get(key) ?? { topic: response.topic, partition: p.partition, stable: 0n, high: 0n };
              entry[field] = BigInt(p.offset);
              result.set(key, entry);
            }
          }
        }
      });
    }
    return result;
  }

  /** Every record (control records and aborted ones included) of a partition in [from, to). */
  async readUncommitted(topic: string, partition: number, from: bigint, to: bigint): Promise<RawRecord[]> {
    const records: RawRecord[] = [];
    let position = from;
    while (position < to) {
      // A fetch starts at the record batch holding `position`, so it may repeat earlier offsets.
      const fresh = (await this.fetchFrom(topic, partition, position, WHOLE_FETCH_BYTES)).filter((r) => BigInt(r.offset) >= position && BigInt(r.offset) < to);
      if (!fresh.length) break;
      records.push(...fresh);
      position = BigInt(fresh[fresh.length - 1].offset) + 1n;
    }
    return records;
  }

  /**
   * The records at exactly these offsets of a partition (any order; each once, in offset order),
   * with their values: a fetch from each offset not yet read, small enough that records scattered
   * over a long log cost one batch each. An offset that holds no record (compacted, deleted by
   * retention, a control record) is missing from the answer.
   */
  async readAt(topic: string, partition: number, offsets: readonly bigint[]): Promise<FetchedRecord[]> {
    const wanted = [...new Set(offsets)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const wantedSet = new Set(wanted);
    const found = new Map<bigint, FetchedRecord>();
    for (const offset of wanted) {
      if (found.has(offset)) continue;
      const batch = await this.fetchFrom(topic, partition, offset, POINT_FETCH_BYTES);
      for (const record of batch) {
        const at = BigInt(record.offset);
        if (wantedSet.has(at) && !record.isControlRecord) found.set(at, record);
      }
      // Nothing at or past the offset: the log ends before it, and so do the later ones.
      if (!batch.some((r) => BigInt(r.offset) >= offset)) break;
    }
    return wanted.flatMap((offset) => found.get(offset) ?? []);
  }

  private fetchFrom(topic: string, partition: number, position: bigint, maxBytes: number): Promise<FetchedRecord[]> {
    return this.retrying(async () => {
      const [{ broker }] = await this.leaders([{ topic, partitions: [partition] }]);
      const answer = await broker.fetch({
        replicaId: -1,
        isolationLevel: READ_UNCOMMITTED,
        maxWaitTime: 100,
        minBytes: 1,
        maxBytes,
        topics: [{ topic, partitions: [{ partition, fetchOffset: position.toString(), maxBytes }] }],
      });
      const fetched = answer.responses[0]?.partitions[0];
      if (!fetched) throw new KafkaWireError(`Fetch ${topic}-${partition}: no answer`, 'UNKNOWN');
      if (fetched.errorCode) throw new KafkaWireError(`Fetch ${topic}-${partition}: ${ERROR_NAMES[fetched.errorCode] ?? fetched.errorCode}`, ERROR_NAMES[fetched.errorCode] ?? 'UNKNOWN');
      return fetched.messages;
    });
  }

  private async leaders(topics: Array<{ topic: string; partitions: number[] }>): Promise<Array<{ broker: KafkajsBroker; topic: string; partitions: number[] }>> {
    const out: Array<{ broker: KafkajsBroker; topic: string; partitions: number[] }> = [];
    for (const { topic, partitions } of topics) {
      let byLeader: Record<string, number[]>;
      try {
        byLeader = this.cluster.findLeaderForPartitions(topic, partitions);
      } catch (error) {
        throw new KafkaWireError(`no leader known for ${topic}: ${errorMessage(error)}`, 'LEADER_NOT_AVAILABLE');
      }
      for (const [nodeId, owned] of Object.entries(byLeader)) out.push({ broker: await this.cluster.findBroker({ nodeId }), topic, partitions: owned });
    }
    return out;
  }
}

// --- DescribeTransactions v0: a flexible version (compact strings and arrays, tagged fields) ---

function uvarint(value: number): Buffer {
  const bytes: number[] = [];
  let rest = value >>> 0;
  while (rest >= 0x80) {
    bytes.push((rest & 0x7f) | 0x80);
    rest >>>= 7;
  }
  bytes.push(rest);
  return Buffer.from(bytes);
}

function compactString(value: string): Buffer {
  const text = Buffer.from(value, 'utf8');
  return Buffer.concat([uvarint(text.length + 1), text]);
}

export function describeTransactionsRequest(transactionalIds: string[]): WireRequest {
  return {
    apiKey: DESCRIBE_TRANSACTIONS,
    apiVersion: 0,
    apiName: 'DescribeTransactions',
    encode: async () => {
      // NOTE: kafkajs writes request header v1 (api key, version, correlation id, client id); a
      // flexible request needs header v2, which is v1 followed by an empty tagged-field section:
      // the leading 0 byte here.
      const body = Buffer.concat([Buffer.from([0]), uvarint(transactionalIds.length + 1), ...transactionalIds.map(compactString), Buffer.from([0])]);
      return { buf: body, buffer: body };
    },
  };
}

class Reader {
  private at = 0;
  constructor(private readonly buffer: Buffer) {}
  int16(): number {
    const v = this.buffer.readInt16BE(this.at);
    this.at += 2;
    return v;
  }
  int32(): number {
    const v = this.buffer.readInt32BE(this.at);
    this.at += 4;
    return v;
  }
  int64(): string {
    const v = this.buffer.readBigInt64BE(this.at);
    this.at += 8;
    return v.toString();
  }
  uvarint(): number {
    let value = 0;
    let shift = 0;
    for (;;) {
      const byte = this.buffer[this.at++];
      value |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return value >>> 0;
      shift += 7;
    }
  }
  compactString(): string {
    const length = this.uvarint() - 1;
    if (length < 0) return '';
    const v = this.buffer.toString('utf8', this.at, this.at + length);
    this.at += length;
    return v;
  }
  compactArray<T>(item: () => T): T[] {
    const length = this.uvarint() - 1;
    return Array.from({ length: Math.max(0, length) }, item);
  }
  taggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i += 1) {
      this.uvarint();
      this.at += this.uvarint();
    }
  }
}

/** Decodes a DescribeTransactions v0 response body (after the correlation id). */
export function decodeDescribeTransactions(payload: Buffer): Array<DescribedTransaction & { errorCode: number; transactionalId: string }> {
  const reader = new Reader(payload);
  reader.taggedFields(); // response header v1
  reader.int32(); // throttle time
  const states = reader.compactArray(() => {
    const errorCode = reader.int16();
    const transactionalId = reader.compactString();
    const state = reader.compactString() as CoordinatorTransactionState;
    reader.int32(); // timeout
    reader.int64(); // start time
    const producerId = reader.int64();
    const producerEpoch = reader.int16();
    const topics = reader.compactArray(() => {
      const topic = reader.compactString();
      const partitions = reader.compactArray(() => reader.int32());
      reader.taggedFields();
      return { topic, partitions };
    });
    reader.taggedFields();
    return { errorCode, transactionalId, state, producerId, producerEpoch, topics };
  });
  reader.taggedFields();
  return states;
}
