import { Type, type Resolver } from 'avsc';
import { TOPIC_RECORDS, type RecordName, type RecordTypes } from '../generated/types';
import { assertWellFormed } from './bounded-scan';
import { latestSchema, latestType, recordNameOf, subjectFor, topicCarries, type TopicRecordName } from './catalogue';
import { outOfRangeLongPaths } from './long-range';
import { InvalidRecordError, SchemaNotFoundError, SchemaRegistryError, UndecodableMessageError, UnknownRecordError } from './errors';
import type { SchemaRegistryClient } from './registry-client';
import type { TopicName } from './topics';
import { frame, unframe } from './wire-format';

/** A decoded message: the record name says which interface `value` satisfies. */
export type DecodedRecord = {
  [K in RecordName]: { recordName: K; schemaId: number; value: RecordTypes[K] };
}[RecordName];

/** Avro serialisation in the Confluent wire format, with schemas from a registry. */
export interface Serde {
  /** Registers the latest schema of every record under its `<topic>-<full name>` subject and caches the ids. */
  registerAll(): Promise<void>;
  /** Validates `value` against the record's latest schema and frames it; registers the subject on first use. */
  encode<T extends TopicName, R extends TopicRecordName<T>>(topic: T, recordName: R, value: RecordTypes[R]): Promise<Buffer>;
  /**
   * Decodes with the writer's schema and resolves into our latest schema of that record. Throws
   * `UndecodableMessageError` for messages that can never decode (dead-letter them), and a retriable
   * `SchemaRegistryError` when the registry cannot be reached. With `topic`, a record type that
   * topic does not carry is UNKNOWN_RECORD.
   */
  decode(message: Buffer | null, topic?: TopicName): Promise<DecodedRecord>;
}

interface Decoder {
  recordName: RecordName;
  writer: Type;
  reader: Type;
  resolver: Resolver | undefined;
}

function invalidPaths(type: Type, value: unknown): string[] {
  // The hook makes avsc build a path per field it visits; only a value that fails needs them.
  if (type.isValid(value, { noUndeclaredFields: true })) return outOfRangeLongPaths(type, value);
  const paths: string[] = [];
  type.isValid(value, {
    noUndeclaredFields: true,
    errorHook: (path: string[]) => paths.push(path.length > 0 ? path.join('.') : '(root)'),
  });
  return paths.length > 0 ? paths : outOfRangeLongPaths(type, value);
}

// avsc builds records as instances of generated classes; callers get plain data they can spread,
// compare with toStrictEqual and structuredClone.
function toPlain(value: unknown): unknown {
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const items = new Array<unknown>(value.length);
    for (let i = 0; i < value.length; i += 1) items[i] = toPlain(value[i]);
    return items;
  }
  if (Buffer.isBuffer(value)) return value;
  const out: Record<string, unknown> = {};
  const fields = Object.keys(value);
  for (let i = 0; i < fields.length; i += 1) out[fields[i]] = toPlain((value as Record<string, unknown>)[fields[i]]);
  return out;
}

/** A serde over a schema registry. Caches subject ids and decoders for the life of the process. */
export function createSerde({ registry }: { registry: SchemaRegistryClient }): Serde {
  const ids = new Map<string, Promise<number>>();
  const decoders = new Map<number, Promise<Decoder>>();

  function memo<K, V>(cache: Map<K, Promise<V>>, key: K, load: () => Promise<V>): Promise<V> {
    let pending = cache.get(key);
    if (pending === undefined) {
      pending = load();
      cache.set(key, pending);
      // A failed lookup must not poison the cache: the registry may be back on the next try.
      pending.catch(() => cache.delete(key));
    }
    return pending;
  }

  function idFor(topic: string, recordName: RecordName): Promise<number> {
    const subject = subjectFor(topic, recordName);
    return memo(ids, subject, async () => {
      const reader = latestType(recordName);
      let id: number;
      try {
        // The .avsc text itself, not avsc's re-export of it, which drops logicalType and docs.
        id = await registry.register(subject, JSON.stringify(latestSchema(recordName).schema));
      } catch (error) {
        throw new SchemaRegistryError(`could not register ${subject}`, { subject }, { cause: error });
      }
      // Our own messages then decode without asking the registry for the schema back.
      if (!decoders.has(id)) decoders.set(id, Promise.resolve({ recordName, writer: reader, reader, resolver: undefined }));
      return id;
    });
  }

  async function loadDecoder(schemaId: number): Promise<Decoder> {
    let text: string;
    try {
      text = await registry.getSchema(schemaId);
    } catch (error) {
      if (error instanceof SchemaNotFoundError) {
        throw new UndecodableMessageError('UNKNOWN_SCHEMA_ID', `no schema with id ${schemaId}`, { schemaId }, { cause: error });
      }
      throw new SchemaRegistryError(`could not fetch schema ${schemaId}`, { schemaId }, { cause: error });
    }
    let writer: Type;
    try {
      writer = Type.forSchema(JSON.parse(text));
    } catch (error) {
      throw new UndecodableMessageError('AVRO_DECODE_FAILED', `schema ${schemaId} is not valid Avro`, { schemaId }, { cause: error });
    }
    const recordName = writer.typeName === 'record' && writer.name !== undefined ? recordNameOf(writer.name) : undefined;
    if (recordName === undefined) {
      throw new UndecodableMessageError('UNKNOWN_RECORD', `schema ${schemaId} (${writer.name ?? writer.typeName}) is not a Waybill record`, { schemaId });
    }
    const reader = latestType(recordName);
    if (writer.equals(reader)) return { recordName, writer, reader, resolver: undefined };
    try {
      return { recordName, writer, reader, resolver: reader.createResolver(writer) };
    } catch (error) {
      throw new UndecodableMessageError(
        'AVRO_DECODE_FAILED',
        `schema ${schemaId} of ${recordName} cannot be read with our latest schema`,
        { schemaId, recordName },
        { cause: error },
      );
    }
  }

  return {
    async registerAll() {
      const pairs = Object.entries(TOPIC_RECORDS).flatMap(([topic, names]) => names.map((name) => [topic, name] as const));
      await Promise.all(pairs.map(([topic, name]) => idFor(topic, name)));
    },

    async encode(topic, recordName, value) {
      if (!topicCarries(topic, recordName)) {
        throw new UnknownRecordError(`topic ${topic} does not carry ${recordName}`, { topic, recordName });
      }
      const type = latestType(recordName);
      const paths = invalidPaths(type, value);
      if (paths.length > 0) throw new InvalidRecordError(recordName, paths, { topic });
      const schemaId = await idFor(topic, recordName);
      return frame(schemaId, type.toBuffer(value));
    },

    async decode(message, topic) {
      const { schemaId, body } = unframe(message);
      const decoder = await memo(decoders, schemaId, () => loadDecoder(schemaId));
      const { recordName, writer, reader, resolver } = decoder;
      if (topic !== undefined && !topicCarries(topic, recordName)) {
        throw new UndecodableMessageError('UNKNOWN_RECORD', `topic ${topic} does not carry ${recordName}`, { schemaId, topic, recordName });
      }
      assertWellFormed(writer, body, schemaId);
      let value: unknown;
      try {
        value = reader.fromBuffer(body, resolver);
      } catch (error) {
        throw new UndecodableMessageError('AVRO_DECODE_FAILED', `could not decode ${recordName}: ${(error as Error).message}`, { schemaId, recordName }, { cause: error });
      }
      return { recordName, schemaId, value: toPlain(value) } as DecodedRecord;
    },
  };
}
