import { Type, type Schema } from 'avsc';
import { AVRO_SCHEMAS } from '../generated/schemas';
import { RECORD_FULL_NAMES, TOPIC_RECORDS, type RecordName } from '../generated/types';
import { UnknownRecordError } from './errors';
import type { TopicName } from './topics';

/** One stored version of a record schema: fully expanded and self-contained, as registered. */
export interface SchemaVersion {
  version: number;
  schema: Schema;
}

/** The record names a topic carries, e.g. `TopicRecordName<'shipment.events'>`. */
export type TopicRecordName<T extends TopicName> = (typeof TOPIC_RECORDS)[T][number];

const FULL_TO_SHORT = new Map<string, RecordName>(
  (Object.entries(RECORD_FULL_NAMES) as Array<[RecordName, string]>).map(([short, full]) => [full, short]),
);

function fullNameOf(name: string): string {
  if (FULL_TO_SHORT.has(name)) return name;
  const full = (RECORD_FULL_NAMES as Record<string, string | undefined>)[name];
  if (full === undefined) throw new UnknownRecordError(`no schema for record ${name}`, { recordName: name });
  return full;
}

/** The record name (`ShipmentCreated`) of an Avro full name, or undefined when it is not one of ours. */
export function recordNameOf(fullName: string): RecordName | undefined {
  return FULL_TO_SHORT.get(fullName);
}

/** The Avro full name of a record, e.g. `dev.waybill.shipment.ShipmentCreated`. Accepts either form. */
export function recordFullName(name: RecordName | string): string {
  return fullNameOf(name);
}

/**
 * Every version of a record's schema, oldest first. Accepts the record name or the Avro full name.
 * Returns copies, so callers cannot corrupt the catalogue.
 */
export function schemaHistory(name: RecordName | string): SchemaVersion[] {
  const versions = AVRO_SCHEMAS[fullNameOf(name)];
  return versions.map(({ version, schema }) => ({ version, schema: structuredClone(schema) as Schema }));
}

/** The newest version of a record's schema: what producers write and consumers read into. */
export function latestSchema(name: RecordName | string): SchemaVersion {
  const history = schemaHistory(name);
  return history[history.length - 1];
}

/** TopicRecordNameStrategy: `<topic>-<record full name>`, e.g. `shipment.events-dev.waybill.shipment.ShipmentCreated`. */
export function subjectFor(topic: TopicName | string, recordName: RecordName | string): string {
  return `${topic}-${fullNameOf(recordName)}`;
}

/** True when the topic carries that record type. */
export function topicCarries(topic: string, recordName: string): boolean {
  const names = (TOPIC_RECORDS as Record<string, readonly string[] | undefined>)[topic];
  return names !== undefined && names.includes(recordName);
}

const latestTypes = new Map<RecordName, Type>();

/** The parsed latest schema of a record, built once per process. */
export function latestType(recordName: RecordName): Type {
  let type = latestTypes.get(recordName);
  if (type === undefined) {
    type = Type.forSchema(latestSchema(recordName).schema);
    latestTypes.set(recordName, type);
  }
  return type;
}
