import type { KafkaMessage } from 'kafkajs';

/** One consumed record, as bytes. Offsets and timestamps are decimal strings, as kafkajs gives them. */
export interface InputRecord {
  topic: string;
  partition: number;
  offset: string;
  key: string;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: string;
}

/** One record to produce inside the batch's transaction. */
export interface OutputRecord {
  topic: string;
  key: string;
  /** `null` is a tombstone (useful on a compacted changelog). */
  value: Buffer | null;
  headers?: Record<string, string>;
  /** Left to kafkajs's partitioner when absent; forced to the input partition for the changelog topic. */
  partition?: number;
}

/** What a processor may ask of the loop while it handles one record. */
export interface ProcessorContext<S> {
  /**
   * The state of `key` in this partition's store, including what earlier records of the same
   * batch produced to the changelog. `undefined` when the key has no state yet (or no store).
   */
  getState(key: string): Promise<S | undefined>;
}

/**
 * The user side of the loop (Kafka Streams' `Processor`): bytes in, records out. Called once per
 * input record, in offset order per partition, one record at a time. Throwing sends the record to
 * the bad-record policy ('continue' = dead-letter it, 'fail' = stop the runner).
 */
export interface Processor<S> {
  process(record: InputRecord, ctx: ProcessorContext<S>): Promise<OutputRecord[]> | OutputRecord[];
  /**
   * Keys besides the record's own that `process` will read, so the loop reads a whole batch's
   * states in one round trip instead of one per lookup. A throw here is ignored: `process` meets
   * the same bad record and the bad-record policy decides.
   */
  keysToRead?(record: InputRecord): readonly string[] | Promise<readonly string[]>;
}

/**
 * A state store backed by Redis whose changelog is a Kafka topic with the input topic's partition
 * count and key. `apply` is the one fold used both live and on restore.
 */
export interface StateStoreDefinition<S> {
  /** Part of the Redis key prefix. */
  name: string;
  /** e.g. `shipment.events`; records the processor sends there go to the input record's partition. */
  changelogTopic: string;
  /** A store written with another shape version is never trusted: it is wiped and restored. */
  shapeVersion: number;
  /**
   * Folds one changelog record into the state. On restore the record is exactly what the broker
   * holds; on the live path it is the record being produced, with the offset the broker will give
   * it (predicted while the batch is being decided, exact in what gets stored). May be async
   * (e.g. an Avro decode that looks a schema up); records are still folded one at a time, in order.
   * `key` is the one being folded: the record's own, or one of `alsoUpdates`.
   */
  apply(state: S | undefined, changelogRecord: InputRecord, key: string): S | Promise<S>;
  /**
   * Keys besides its own that a changelog record changes, each folded with `apply` like the
   * record's key, live and on restore: an index the processor looks things up in by key (the
   * transaction ids an account booked, say), so the state under the record's key stays small.
   */
  alsoUpdates?(changelogRecord: InputRecord): readonly string[] | Promise<readonly string[]>;
  /**
   * True when `apply` reads neither the record's offset nor its timestamp. The live path then
   * stores the states it folded while deciding, instead of folding the batch a second time with the
   * offsets the broker gave (one Avro decode and evolve per event saved).
   */
  ignoresPosition?: boolean;
  serialize(state: S): string;
  deserialize(text: string): S;
}

function headerText(value: Buffer | string | (Buffer | string)[] | undefined): string | undefined {
  if (value === undefined) return undefined;
  // NOTE: Kafka allows a header key to repeat; the last value wins, as in most HTTP-ish readers.
  const last = Array.isArray(value) ? value[value.length - 1] : value;
  return last === undefined ? undefined : last.toString();
}

/** Converts a kafkajs message into the byte-level record processors see. */
export function toInputRecord(topic: string, partition: number, message: KafkaMessage): InputRecord {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(message.headers ?? {})) {
    const text = headerText(value);
    if (text !== undefined) headers[name] = text;
  }
  return {
    topic,
    partition,
    offset: message.offset,
    key: message.key?.toString() ?? '',
    value: message.value,
    headers,
    timestamp: message.timestamp,
  };
}

/**
 * Reads a record's value at most once: the loop hands the same record to more than one hook
 * (`keysToRead` then `process`; `alsoUpdates` then `apply` for each key). Keyed by the value's
 * bytes, so it holds nothing once the loop lets the record go.
 */
export function decodedOnce<T>(decode: (value: Buffer | null) => Promise<T>): (record: Pick<InputRecord, 'value'>) => Promise<T> {
  const decoded = new WeakMap<Buffer, T>();
  return async (record) => {
    const cached = record.value ? decoded.get(record.value) : undefined;
    if (cached) return cached;
    const value = await decode(record.value);
    if (record.value) decoded.set(record.value, value);
    return value;
  };
}

/** Every key a changelog record changes: its own, then the definition's `alsoUpdates`. */
export async function keysChangedBy<S>(definition: StateStoreDefinition<S>, record: InputRecord): Promise<string[]> {
  return [record.key, ...((await definition.alsoUpdates?.(record)) ?? [])];
}

/**
 * Folds one changelog record into every key it changes: the one fold of the live path, its refold
 * with exact offsets and the restore. `stateOf` gives each key's state before the record.
 */
export async function foldChangelogRecord<S>(
  definition: StateStoreDefinition<S>,
  record: InputRecord,
  stateOf: (key: string) => S | undefined | Promise<S | undefined>,
  set: (key: string, state: S) => void,
): Promise<void> {
  for (const key of await keysChangedBy(definition, record)) set(key, await definition.apply(await stateOf(key), record, key));
}
