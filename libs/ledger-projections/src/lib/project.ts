import { foldBalance } from '@waybill/accounting-domain';
import type { ShipmentEventRecord } from '@waybill/contracts';
import { arrivesLate, evolveEnvelope, initialState, isShipmentStatus, isTerminalStatus, STATE_SHAPE_VERSION, type ShipmentEventType } from '@waybill/shipment-domain';
import { recordToEnvelope } from '@waybill/shipment-messages';
import type { AccountSummary, EventDoc, LedgerInput, OutcomeDoc, Position, ShipmentSummary, StateSnapshot, TransactionDoc } from './documents';
import { CorruptReadModelError } from './errors';
import { ledgerKeys, timeKey, versionKey, type LedgerKeys } from './keys';
import type { MemoryKeyspace, Write } from './writes';

/** Settings that change what the projection writes; a rebuild must use the same ones. */
export interface ProjectionOptions {
  /** Keep a state snapshot after every `snapshotEvery`-th event of a shipment (default 100). */
  snapshotEvery?: number;
}

export const DEFAULT_SNAPSHOT_EVERY = 100;

/** What projecting one record did. */
export interface ProjectionResult {
  outcome: 'applied' | 'duplicate';
  writes: Write[];
  /** Set when the record is a newly seen outcome with `alert: true`. */
  alert?: OutcomeDoc;
  /** Oddities worth a log line that do not stop the projection (a version gap, a currency change). */
  warnings: string[];
}

/** The offsets hash field of a partition: `<logical topic>:<partition>`. */
export function offsetField(topic: string, partition: number): string {
  return `${topic}:${partition}`;
}

function parse<T>(key: string, raw: string | null): T | undefined {
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch (error) {
    throw new CorruptReadModelError(key, { cause: error });
  }
}

function eventDoc(record: ShipmentEventRecord, position: Position, recordedAt: number | undefined): EventDoc {
  // The wire record as it came, so a rebuild writes the same bytes and nothing is lost.
  return { type: record.type as ShipmentEventType, ...record.value, position, recordedAt: recordedAt ?? record.value.timestamp } as EventDoc;
}


/** A stored event as the projection input it was made from, so a history can be folded again. */
export function eventDocToInput(doc: EventDoc): LedgerInput {
  const { type, position, recordedAt, ...value } = doc;
  return { position, record: { type, value } as ShipmentEventRecord, recordedAt };
}

/** The domain envelope inside a stored event, for `evolveEnvelope`. */
export function docToEnvelope(doc: EventDoc) {
  return recordToEnvelope(eventDocToInput(doc).record as ShipmentEventRecord);
}

/**
 * Projects one shipment event onto the shipment's current summary (undefined when none is stored).
 * An event whose version is not above the stored version is a duplicate and writes nothing.
 */
export function projectShipmentEvent(
  keys: LedgerKeys,
  summary: ShipmentSummary | undefined,
  doc: EventDoc,
  options: ProjectionOptions = {},
): ProjectionResult & { summary?: ShipmentSummary } {
  if (summary && doc.version <= summary.version) return { outcome: 'duplicate', writes: [], warnings: [] };
  const warnings: string[] = [];
  const id = doc.aggregateId;
  if (doc.version !== (summary?.version ?? 0) + 1) {
    warnings.push(`shipment ${id}: event ${doc.eventId} has version ${doc.version} after version ${summary?.version ?? 0}`);
  }
  const before = summary?.state ?? initialState();
  const state = evolveEnvelope(before, docToEnvelope(doc));
  const effectiveAt = Math.max(summary?.effectiveAt ?? doc.timestamp, doc.timestamp);
  const recordedAt = Math.max(summary?.recordedAt ?? doc.recordedAt, doc.recordedAt);
  const late = arrivesLate(doc, summary?.effectiveAt);
  const lateEvents = (summary?.lateEvents ?? 0) + (late ? 1 : 0);
  const next: ShipmentSummary = {
    shipmentId: id,
    version: doc.version,
    status: state.status,
    orderId: state.orderId,
    customerAccountId: state.customerAccountId,
    currency: state.currency,
    totalMinor: state.totalMinor,
    createdAt: summary?.createdAt ?? doc.timestamp,
    updatedAt: doc.timestamp,
    effectiveAt,
    recordedAt,
    ...(lateEvents ? { lateEvents } : {}),
    lastEventId: doc.eventId,
    lastEventType: doc.type,
    state,
    ...(summary?.archive ? { archive: summary.archive } : {}),
  };
  const member = `${timeKey(doc.timestamp)}|${doc.eventId}`;
  const writes: Write[] = [
    { op: 'set', key: keys.shipment(id), value: JSON.stringify(next) },
    { op: 'set', key: keys.event(doc.eventId), value: JSON.stringify(doc) },
    { op: 'zadd', key: keys.shipmentEvents(id), score: doc.version, member: doc.eventId },
    { op: 'zadd', key: keys.shipmentTimeline(id), score: effectiveAt, member: versionKey(doc.version) },
    { op: 'zadd', key: keys.shipmentRecorded(id), score: recordedAt, member: versionKey(doc.version) },
    { op: 'zadd', key: keys.shipments, score: 0, member: id },
    { op: 'zadd', key: keys.feed, score: 0, member },
    { op: 'zadd', key: keys.feedByType(doc.type), score: 0, member },
    { op: 'zadd', key: keys.feedByUser(doc.initiatedBy), score: 0, member },
    { op: 'zadd', key: keys.trace(doc.traceId), score: 0, member: `${timeKey(doc.timestamp)}|event|${doc.eventId}` },
  ];
  if (late) writes.push({ op: 'zadd', key: keys.shipmentLate(id), score: doc.timestamp, member: versionKey(doc.version) });
  const snapshotEvery = options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
  if (doc.version % snapshotEvery === 0) {
    const snapshot: StateSnapshot = { shape: STATE_SHAPE_VERSION, version: doc.version, state };
    writes.push({ op: 'zadd', key: keys.shipmentSnapshots(id), score: doc.version, member: JSON.stringify(snapshot) });
  }
  const from = before.status;
  const to = state.status;
  // A closed shipment waits here for the retention window, by the time it was last recorded.
  if (isTerminalStatus(to)) writes.push({ op: 'zadd', key: keys.archivable, score: recordedAt, member: id });
  else if (isTerminalStatus(from)) writes.push({ op: 'zrem', key: keys.archivable, member: id });
  // Counts move only on a real change of status, and the version guard above makes that once per event.
  if (from !== to) {
    if (isShipmentStatus(from)) {
      writes.push({ op: 'zrem', key: keys.status(from), member: id }, { op: 'hincrby', key: keys.statusCounts, field: from, by: -1 });
    }
    if (isShipmentStatus(to)) {
      writes.push({ op: 'zadd', key: keys.status(to), score: 0, member: id }, { op: 'hincrby', key: keys.statusCounts, field: to, by: 1 });
    }
  }
  return { outcome: 'applied', writes, warnings, summary: next };
}

/** Projects one command outcome; an outcome id seen before writes nothing. */
export function projectOutcome(keys: LedgerKeys, alreadyStored: boolean, doc: OutcomeDoc): ProjectionResult {
  if (alreadyStored) return { outcome: 'duplicate', writes: [], warnings: [] };
  const writes: Write[] = [
    { op: 'set', key: keys.outcome(doc.eventId), value: JSON.stringify(doc) },
    { op: 'zadd', key: keys.trace(doc.traceId), score: 0, member: `${timeKey(doc.timestamp)}|outcome|${doc.eventId}` },
    { op: 'zadd', key: keys.shipmentOutcomes(doc.aggregateId), score: doc.recordedAt ?? doc.timestamp, member: doc.eventId },
  ];
  // Alerts are in the order Waybill learned of them: an observed fact's outcome carries its business
  // time, which may be long past (an import of last week's facts).
  if (doc.alert) writes.push({ op: 'zadd', key: keys.alerts, score: 0, member: `${timeKey(doc.recordedAt ?? doc.timestamp)}|${doc.eventId}` });
  return { outcome: 'applied', writes, warnings: [], ...(doc.alert ? { alert: doc } : {}) };
}

/**
 * Projects one accounting transaction onto its account; a transactionId seen before writes nothing,
 * and so does a version the account already has: the command listener gives each account gapless
 * versions, and a transaction past the retention window has no document left to be seen by.
 */
export function projectTransaction(
  keys: LedgerKeys,
  alreadyStored: boolean,
  account: AccountSummary | undefined,
  doc: TransactionDoc,
): ProjectionResult & { account?: AccountSummary } {
  if (alreadyStored || (account && doc.version <= account.version)) return { outcome: 'duplicate', writes: [], warnings: [] };
  const { accountId, transactionId, currency } = doc.data;
  const warnings: string[] = [];
  if (account && account.currency !== currency) {
    warnings.push(`account ${accountId}: transaction ${transactionId} is in ${currency}, the account in ${account.currency}`);
  }
  const next: AccountSummary = foldBalance(account, doc);
  const writes: Write[] = [
    { op: 'set', key: keys.transaction(transactionId), value: JSON.stringify(doc) },
    { op: 'set', key: keys.account(accountId), value: JSON.stringify(next) },
    { op: 'zadd', key: keys.accountTransactions(accountId), score: next.version, member: transactionId },
    { op: 'zadd', key: keys.accounts, score: 0, member: accountId },
    { op: 'zadd', key: keys.trace(doc.traceId), score: 0, member: `${timeKey(doc.timestamp)}|transaction|${transactionId}` },
    { op: 'zadd', key: keys.archivableTransactions, score: doc.timestamp, member: transactionId },
  ];
  return { outcome: 'applied', writes, warnings, account: next };
}

/** The keys of the partition `input` is on: every key its projection reads or writes. */
export function inputKeys(keyPrefix: string, input: LedgerInput): LedgerKeys {
  return ledgerKeys(keyPrefix, input.position.partition);
}

/** The keys whose current values `projectRecord` needs for `input`. */
export function keysToRead(keyPrefix: string, input: LedgerInput): string[] {
  const { record } = input;
  const keys = inputKeys(keyPrefix, input);
  switch (record.type) {
    case 'CommandOutcome':
      return [keys.outcome(record.value.eventId)];
    case 'TransactionRecorded':
      return [keys.transaction(record.value.data.transactionId), keys.account(record.value.data.accountId)];
    default:
      return [keys.shipment(record.value.aggregateId)];
  }
}

/**
 * Projects one record given the current values of the keys `keysToRead` names (`read(key)` returns
 * the stored string or null). Pure: the same values and record give the same writes.
 */
export function projectRecord(keyPrefix: string, read: (key: string) => string | null, input: LedgerInput, options: ProjectionOptions = {}): ProjectionResult {
  const { record, position, recordedAt } = input;
  const keys = inputKeys(keyPrefix, input);
  switch (record.type) {
    case 'CommandOutcome': {
      const doc: OutcomeDoc = { ...record.value, position, ...(recordedAt === undefined ? {} : { recordedAt }) };
      return projectOutcome(keys, read(keys.outcome(doc.eventId)) !== null, doc);
    }
    case 'TransactionRecorded': {
      const doc: TransactionDoc = { ...record.value, position };
      const accountKey = keys.account(doc.data.accountId);
      const { account: _account, ...result } = projectTransaction(
        keys,
        read(keys.transaction(doc.data.transactionId)) !== null,
        parse<AccountSummary>(accountKey, read(accountKey)),
        doc,
      );
      return result;
    }
    default: {
      const doc = eventDoc(record, position, recordedAt);
      const key = keys.shipment(doc.aggregateId);
      const { summary: _summary, ...result } = projectShipmentEvent(keys, parse<ShipmentSummary>(key, read(key)), doc, options);
      return result;
    }
  }
}

/** The writes and checks for a batch of records, in order. */
export interface BatchPlan {
  /** Every key read, with the value the plan was computed from (null = absent): the write's precondition. */
  expect: Array<[key: string, value: string | null]>;
  writes: Write[];
  applied: number;
  duplicates: number;
  alerts: OutcomeDoc[];
  warnings: string[];
}

/** A partition's new "next offset" (everything before it is reflected). */
export interface OffsetMark {
  topic: Position['topic'];
  partition: number;
  next: string;
}

/**
 * Plans a batch: projects `inputs` in order against `initial` (the current values of every key
 * `keysToRead` names for them), each record seeing the writes of those before it, and ends with
 * the offsets: one past each input, or the `marks` given (e.g. past trailing transaction markers).
 */
export function planBatch(
  keyPrefix: string,
  initial: ReadonlyMap<string, string | null>,
  inputs: readonly LedgerInput[],
  options: ProjectionOptions & { marks?: readonly OffsetMark[] } = {},
): BatchPlan {
  const view = new Map(initial);
  const plan: BatchPlan = { expect: [...initial], writes: [], applied: 0, duplicates: 0, alerts: [], warnings: [] };
  const next = new Map<string, { partition: number; offset: bigint }>();
  const bump = (topic: string, partition: number, offset: bigint) => {
    const field = offsetField(topic, partition);
    const current = next.get(field);
    if (current === undefined || offset > current.offset) next.set(field, { partition, offset });
  };
  for (const input of inputs) {
    const result = projectRecord(keyPrefix, (key) => view.get(key) ?? null, input, options);
    for (const write of result.writes) if (write.op === 'set') view.set(write.key, write.value);
    plan.writes.push(...result.writes);
    plan.warnings.push(...result.warnings);
    if (result.outcome === 'applied') plan.applied += 1;
    else plan.duplicates += 1;
    if (result.alert) plan.alerts.push(result.alert);
    bump(input.position.topic, input.position.partition, BigInt(input.position.offset) + 1n);
  }
  for (const mark of options.marks ?? []) bump(mark.topic, mark.partition, BigInt(mark.next));
  for (const [field, { partition, offset }] of [...next].sort(([a], [b]) => (a < b ? -1 : 1))) {
    plan.writes.push({ op: 'hmax', key: ledgerKeys(keyPrefix, partition).offsets, field, value: offset.toString() });
  }
  return plan;
}

/**
 * `applyBatch` for a `MemoryKeyspace`: plans `inputs` against its current values and applies the
 * plan. A rebuild or a test folds records into memory with exactly the writes Redis would get.
 */
export function applyToMemory(
  keyspace: MemoryKeyspace,
  keyPrefix: string,
  inputs: readonly LedgerInput[],
  options: ProjectionOptions & { marks?: readonly OffsetMark[] } = {},
): BatchPlan {
  const read = [...new Set(inputs.flatMap((input) => keysToRead(keyPrefix, input)))];
  const plan = planBatch(keyPrefix, new Map(read.map((key) => [key, keyspace.get(key)])), inputs, options);
  keyspace.apply(plan.writes);
  return plan;
}
