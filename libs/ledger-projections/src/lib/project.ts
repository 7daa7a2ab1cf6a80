import type { ShipmentEventRecord } from '@waybill/contracts';
import { evolveEnvelope, initialState, isShipmentStatus, STATE_SHAPE_VERSION, type ShipmentEventType } from '@waybill/shipment-domain';
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

/**
 * Parsed values a caller already holds, with the exact text each stands for (a rebuild keeps the
 * summaries it wrote; parsing their text again would only give the same objects).
 */
export type ParsedValues = Map<string, { text: string; value: unknown }>;

/**
 * What a projection sees of the keys it reads: the stored text (null = absent) and, when the
 * caller holds it, the value that text parses to.
 */
export interface ReadView {
  text(key: string): string | null;
  parsed?(key: string): unknown;
}

function parse<T>(key: string, view: ReadView): T | undefined {
  const held = view.parsed?.(key);
  if (held !== undefined) return held as T;
  const raw = view.text(key);
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch (error) {
    throw new CorruptReadModelError(key, { cause: error });
  }
}

/**
 * A `set` whose text is rendered on first use: a shipment's summary is rewritten by each of its
 * events, and a rebuild sends only the last of a batch, so the others need never be rendered.
 */
function lazySet(key: string, render: () => string): Write {
  let text: string | undefined;
  return {
    op: 'set',
    key,
    get value(): string {
      return (text ??= render());
    },
  };
}

function eventDoc(record: ShipmentEventRecord, position: Position): EventDoc {
  // The wire record as it came, so a rebuild writes the same bytes and nothing is lost.
  return { type: record.type as ShipmentEventType, ...record.value, position } as EventDoc;
}

/** The domain envelope inside a stored event, for `evolveEnvelope`. */
export function docToEnvelope(doc: EventDoc) {
  const { type, position: _position, ...value } = doc;
  return recordToEnvelope({ type, value } as Parameters<typeof recordToEnvelope>[0]);
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
    lastEventId: doc.eventId,
    lastEventType: doc.type,
    state,
  };
  const member = `${timeKey(doc.timestamp)}|${doc.eventId}`;
  const writes: Write[] = [
    lazySet(keys.shipment(id), () => JSON.stringify(next)),
    { op: 'set', key: keys.event(doc.eventId), value: JSON.stringify(doc) },
    { op: 'zadd', key: keys.shipmentEvents(id), score: doc.version, member: doc.eventId },
    { op: 'zadd', key: keys.shipmentTimeline(id), score: effectiveAt, member: versionKey(doc.version) },
    { op: 'zadd', key: keys.shipments, score: 0, member: id },
    { op: 'zadd', key: keys.feed, score: 0, member },
    { op: 'zadd', key: keys.feedByType(doc.type), score: 0, member },
    { op: 'zadd', key: keys.feedByUser(doc.initiatedBy), score: 0, member },
    { op: 'zadd', key: keys.trace(doc.traceId), score: 0, member: `${timeKey(doc.timestamp)}|event|${doc.eventId}` },
  ];
  const snapshotEvery = options.snapshotEvery ?? DEFAULT_SNAPSHOT_EVERY;
  if (doc.version % snapshotEvery === 0) {
    const snapshot: StateSnapshot = { shape: STATE_SHAPE_VERSION, version: doc.version, state };
    writes.push({ op: 'zadd', key: keys.shipmentSnapshots(id), score: doc.version, member: JSON.stringify(snapshot) });
  }
  const from = before.status;
  const to = state.status;
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
  ];
  if (doc.alert) writes.push({ op: 'zadd', key: keys.alerts, score: 0, member: `${timeKey(doc.timestamp)}|${doc.eventId}` });
  return { outcome: 'applied', writes, warnings: [], ...(doc.alert ? { alert: doc } : {}) };
}

/** Projects one accounting transaction onto its account; a transactionId seen before writes nothing. */
export function projectTransaction(
  keys: LedgerKeys,
  alreadyStored: boolean,
  account: AccountSummary | undefined,
  doc: TransactionDoc,
): ProjectionResult & { account?: AccountSummary } {
  if (alreadyStored) return { outcome: 'duplicate', writes: [], warnings: [] };
  const { accountId, transactionId, amountMinor, currency } = doc.data;
  const warnings: string[] = [];
  if (account && account.currency !== currency) {
    warnings.push(`account ${accountId}: transaction ${transactionId} is in ${currency}, the account in ${account.currency}`);
  }
  const next: AccountSummary = {
    accountId,
    balanceMinor: (account?.balanceMinor ?? 0) + amountMinor,
    currency: account?.currency ?? currency,
    version: (account?.version ?? 0) + 1,
    firstTransactionAt: account?.firstTransactionAt ?? doc.timestamp,
    lastTransactionAt: doc.timestamp,
    lastTransactionId: transactionId,
  };
  const writes: Write[] = [
    { op: 'set', key: keys.transaction(transactionId), value: JSON.stringify(doc) },
    lazySet(keys.account(accountId), () => JSON.stringify(next)),
    { op: 'zadd', key: keys.accountTransactions(accountId), score: next.version, member: transactionId },
    { op: 'zadd', key: keys.accounts, score: 0, member: accountId },
    { op: 'zadd', key: keys.trace(doc.traceId), score: 0, member: `${timeKey(doc.timestamp)}|transaction|${transactionId}` },
  ];
  return { outcome: 'applied', writes, warnings, account: next };
}

/** The keys whose current values `projectRecord` needs for `input`. */
export function keysToRead(keys: LedgerKeys, input: LedgerInput): string[] {
  const { record } = input;
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
 * Projects one record given the current values of the keys `keysToRead` names. Pure: the same
 * values and record give the same writes. `held` is the summary or account the writes leave
 * behind (the parsed form of the `set` to `held.key`), for a caller that keeps parsed values.
 */
export function projectRecord(
  keys: LedgerKeys,
  view: ReadView,
  input: LedgerInput,
  options: ProjectionOptions = {},
): ProjectionResult & { held?: { key: string; value: unknown } } {
  const { record, position } = input;
  switch (record.type) {
    case 'CommandOutcome': {
      const doc: OutcomeDoc = { ...record.value, position };
      return projectOutcome(keys, view.text(keys.outcome(doc.eventId)) !== null, doc);
    }
    case 'TransactionRecorded': {
      const doc: TransactionDoc = { ...record.value, position };
      const accountKey = keys.account(doc.data.accountId);
      const { account, ...result } = projectTransaction(
        keys,
        view.text(keys.transaction(doc.data.transactionId)) !== null,
        parse<AccountSummary>(accountKey, view),
        doc,
      );
      return account ? { ...result, held: { key: accountKey, value: account } } : result;
    }
    default: {
      const doc = eventDoc(record, position);
      const key = keys.shipment(doc.aggregateId);
      const { summary, ...result } = projectShipmentEvent(keys, parse<ShipmentSummary>(key, view), doc, options);
      return summary ? { ...result, held: { key, value: summary } } : result;
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
  /** The parsed value of each key whose last write in the batch left a summary or account behind. */
  held: Map<string, unknown>;
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
  options: ProjectionOptions & { marks?: readonly OffsetMark[]; parsed?: ParsedValues } = {},
): BatchPlan {
  const keys = ledgerKeys(keyPrefix);
  // What each key holds now: the initial text, or the write of this batch that set it last.
  const current = new Map<string, string | null | Write>(initial);
  // Parsed values, valid while `current` still holds the text or write they came from.
  const held = new Map<string, { source: string | Write; value: unknown }>();
  if (options.parsed) {
    for (const [key, text] of initial) {
      const known = text === null ? undefined : options.parsed.get(key);
      if (known !== undefined && known.text === text) held.set(key, { source: text, value: known.value });
    }
  }
  const view: ReadView = {
    text(key) {
      const value = current.get(key);
      return value === undefined || value === null ? null : typeof value === 'string' ? value : (value as { value: string }).value;
    },
    parsed(key) {
      const entry = held.get(key);
      return entry !== undefined && entry.source === current.get(key) ? entry.value : undefined;
    },
  };
  const plan: BatchPlan = { expect: [...initial], writes: [], applied: 0, duplicates: 0, alerts: [], warnings: [], held: new Map() };
  const next = new Map<string, bigint>();
  const bump = (topic: string, partition: number, offset: bigint) => {
    const field = offsetField(topic, partition);
    const known = next.get(field);
    if (known === undefined || offset > known) next.set(field, offset);
  };
  for (const input of inputs) {
    const result = projectRecord(keys, view, input, options);
    for (const write of result.writes) {
      if (write.op !== 'set') continue;
      current.set(write.key, write);
      if (result.held?.key === write.key) {
        held.set(write.key, { source: write, value: result.held.value });
        plan.held.set(write.key, result.held.value);
      } else {
        held.delete(write.key);
        plan.held.delete(write.key);
      }
    }
    plan.writes.push(...result.writes);
    plan.warnings.push(...result.warnings);
    if (result.outcome === 'applied') plan.applied += 1;
    else plan.duplicates += 1;
    if (result.alert) plan.alerts.push(result.alert);
    bump(input.position.topic, input.position.partition, BigInt(input.position.offset) + 1n);
  }
  for (const mark of options.marks ?? []) bump(mark.topic, mark.partition, BigInt(mark.next));
  for (const [field, offset] of [...next].sort(([a], [b]) => (a < b ? -1 : 1))) {
    plan.writes.push({ op: 'hmax', key: keys.offsets, field, value: offset.toString() });
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
  const keys = ledgerKeys(keyPrefix);
  const read = [...new Set(inputs.flatMap((input) => keysToRead(keys, input)))];
  const plan = planBatch(keyPrefix, new Map(read.map((key) => [key, keyspace.get(key)])), inputs, options);
  keyspace.apply(plan.writes);
  return plan;
}
