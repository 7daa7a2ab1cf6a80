import { SHIPMENT_STATUSES, type ShipmentState, type ShipmentStatus } from '@waybill/shipment-domain';
import { SHIPMENT_ID_PATTERN } from '@waybill/shipment-messages';
import { businessOrderAfter, diffStates, foldOrdered, foldTo, usableSnapshot, type FieldChange } from './as-of';
import { TOPICS } from '@waybill/contracts';
import type { AccountSummary, EventDoc, LedgerInput, OutcomeDoc, ShipmentSummary, StateSnapshot, TraceItemKind, TransactionDoc } from './documents';
import { ArchivedHistoryUnavailableError, CorruptReadModelError, InvalidQueryError } from './errors';
import { ledgerKeys, timeKey, versionKey, type LedgerKeys } from './keys';
import { readLedgerOffsets } from './keyspace';
import { groupOffsets, type ReflectedOffsets } from './offsets';
import { MemoryReads, type ReadModelStore } from './memory-reads';
import { applyToMemory, eventDocToInput } from './project';
import { parsePosition, type ArchivedEventSource } from './retention';
import { parseArchivedTransactionMember } from './transaction-retention';
import { MemoryKeyspace } from './writes';

/** One page of a list; `nextCursor` is null at the end. */
export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

/**
 * Where to read a shipment: `asOf` on the business axis (when things happened), `knownAt` on the
 * recorded axis (what Waybill had recorded by then); both: what Waybill knew at `knownAt` about the
 * state at `asOf`. An absent axis is not limited.
 */
export interface AxisCut {
  asOf?: number;
  knownAt?: number;
}

/** The state of a shipment at an instant. */
export type StateAt =
  | { kind: 'unknown' }
  | { kind: 'not-yet-created'; createdAt: number }
  | { kind: 'not-yet-recorded'; firstRecordedAt: number | null }
  | {
      kind: 'state';
      /** The highest version in effect. */
      version: number;
      state: ShipmentState;
      snapshotVersion: number;
      eventsFolded: number;
      /** Every version up to this one is in effect... */
      throughVersion: number;
      /** ...and these later ones too: late facts whose business time is before the instant. */
      alsoInEffect: number[];
      /** True when late facts made the business-time order differ from the version order. */
      reordered: boolean;
    };

type InEffect = StateAt & { kind: 'state' };
const isInEffect = (at: InEffect, version: number) => version <= at.throughVersion || at.alsoInEffect.includes(version);

/** What changed between two instants. */
export interface ShipmentDiff {
  from: StateAt & { kind: 'state' | 'not-yet-created' };
  to: StateAt & { kind: 'state' | 'not-yet-created' };
  changes: FieldChange[];
  events: EventDoc[];
}

/** An entry of a trace, in time order. */
export type TraceItem =
  | { kind: 'event'; at: number; doc: EventDoc }
  | { kind: 'outcome'; at: number; doc: OutcomeDoc }
  | { kind: 'transaction'; at: number; doc: TransactionDoc };

// A filtered list stops after examining this many entries and hands back a cursor to go on, so one
// request never walks an unbounded index.
const MAX_EXAMINED = 5_000;
const MAX_TRACE_ITEMS = 1_000;
const ARCHIVED_READERS_KEPT = 64;

function encodeCursor(raw: string): string {
  return Buffer.from(raw, 'utf8').toString('base64url');
}

function decodeCursor(cursor: string | undefined, check: RegExp): string | undefined {
  if (cursor === undefined) return undefined;
  const raw = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!check.test(raw) || encodeCursor(raw) !== cursor) throw new InvalidQueryError('cursor', 'is not a cursor this list handed out');
  return raw;
}

function parseDoc<T>(key: string, raw: string | null): T | undefined {
  if (raw === null) return undefined;
  try {
    return JSON.parse(raw) as T;
  } catch (error) {
    throw new CorruptReadModelError(key, { cause: error });
  }
}

/** A key in one partition's slot. */
interface SlotKey {
  partition: number;
  key: string;
}

/** A member of one partition's index. */
interface SlotMember {
  partition: number;
  member: string;
}

// Redis orders a lex index by the members' bytes.
const byBytes = (a: string, b: string) => Buffer.compare(Buffer.from(a), Buffer.from(b));

/** Each member once (a shipment can be indexed in two partitions after partitions were added), in the order given. */
function uniqueMembers(members: readonly SlotMember[]): SlotMember[] {
  const seen = new Set<string>();
  const out: SlotMember[] = [];
  for (const m of members) {
    if (seen.has(m.member)) continue;
    seen.add(m.member);
    out.push(m);
  }
  return out;
}

/**
 * Queries over the ledger read models under one key prefix. Every method reads Redis only; what the
 * answers reflect is `offsets()`, read before the data, so it is a lower bound.
 *
 * Each partition's records live in a hash slot of their own (`ledgerKeys`), so a reader looks for a
 * shipment, an event or an account in every partition at once (it cannot know how the producers
 * partitioned), then reads the rest of it from the partition that has it; a list merges the
 * partitions' indexes in order. Nothing here sends one command or MGET across two slots.
 */
export class LedgerReader {
  /** Archived shipments folded back from Kafka, newest use last: the admin page asks for one several times in a row. */
  private readonly archived = new Map<string, Promise<LedgerReader>>();

  constructor(
    private readonly redis: ReadModelStore,
    private readonly keyPrefix: string,
    /** The partition numbers of the topics the ledger reads (0 … largest count − 1). */
    private readonly partitions: () => readonly number[],
    private readonly archives: {
      /** Where the events of shipments the retention window archived are read back from (none: their history is unavailable). */
      source?: ArchivedEventSource;
      /** The projection's SNAPSHOT_EVERY, so an archived history folds into the snapshots Redis held. */
      snapshotEvery?: number;
    } = {},
  ) {}

  /** The keys of one partition. */
  keys(partition: number): LedgerKeys {
    return ledgerKeys(this.keyPrefix, partition);
  }

  private everyPartition(): LedgerKeys[] {
    return this.partitions().map((p) => this.keys(p));
  }

  async offsets(): Promise<ReflectedOffsets> {
    return groupOffsets(await readLedgerOffsets(this.redis, this.keyPrefix, this.partitions()));
  }

  async shipment(id: string): Promise<ShipmentSummary | undefined> {
    return (await this.locateShipment(id))?.doc;
  }

  /** The partition that holds a shipment, and its summary (the newest, should it be in two after partitions were added). */
  private locateShipment(id: string): Promise<{ keys: LedgerKeys; doc: ShipmentSummary } | undefined> {
    return this.findAcross<ShipmentSummary>((k) => k.shipment(id), (doc) => doc.version);
  }

  /** The document at `keyOf` in whichever partition has it; with `rank`, the highest-ranked of several. */
  private async findAcross<T>(keyOf: (keys: LedgerKeys) => string, rank?: (doc: T) => number): Promise<{ keys: LedgerKeys; doc: T } | undefined> {
    const all = this.everyPartition();
    const raw = await Promise.all(all.map((k) => this.redis.get(keyOf(k))));
    let best: { keys: LedgerKeys; doc: T } | undefined;
    raw.forEach((text, i) => {
      const doc = parseDoc<T>(keyOf(all[i]), text);
      if (doc === undefined) return;
      if (!best || (rank && rank(doc) > rank(best.doc))) best = { keys: all[i], doc };
    });
    return best;
  }

  /** Shipments in id order, optionally in one status and/or whose id or order id contains `q` (case-insensitive). */
  async listShipments(options: { status?: ShipmentStatus; q?: string; cursor?: string; limit: number }): Promise<Page<ShipmentSummary>> {
    const status = options.status;
    const index = (k: LedgerKeys) => (status ? k.status(status) : k.shipments);
    // A shipments cursor is the last shipment id of the page before: anything else was never handed out.
    const after = decodeCursor(options.cursor, SHIPMENT_ID_PATTERN);
    const needle = options.q?.toLowerCase();
    return this.pageLex<ShipmentSummary>(index, 'asc', after, { min: '-', max: '+' }, options.limit, (k, id) => k.shipment(id), (s) =>
      needle === undefined ? true : s.shipmentId.toLowerCase().includes(needle) || s.orderId.toLowerCase().includes(needle),
    );
  }

  async statusCounts(): Promise<Record<ShipmentStatus, number>> {
    const hashes = await Promise.all(this.everyPartition().map((k) => this.redis.hgetall(k.statusCounts)));
    return Object.fromEntries(SHIPMENT_STATUSES.map((s) => [s, hashes.reduce((sum, hash) => sum + Number(hash[s] ?? 0), 0)])) as Record<ShipmentStatus, number>;
  }

  /** A shipment's events in version order, after `afterVersion`. */
  async shipmentEvents(id: string, options: { afterVersion?: number; uptoVersion?: number; limit?: number } = {}): Promise<EventDoc[]> {
    const found = await this.locateShipment(id);
    if (!found) return [];
    if (found.doc.archive) return (await this.archivedHistory(found)).shipmentEvents(id, options);
    return this.eventsIn(found.keys, id, options);
  }

  /**
   * A reader over one archived shipment's whole history, folded in memory with the projection's own
   * code from its archived events (read from Kafka by their positions) and those Redis still holds
   * (after a correction reopened it): every history, as-of and diff answer is then the one Redis
   * gave before the archive.
   */
  private archivedHistory(found: { keys: LedgerKeys; doc: ShipmentSummary }): Promise<LedgerReader> {
    const { doc } = found;
    const cacheKey = `${doc.shipmentId}@${doc.version}`;
    const cached = this.archived.get(cacheKey);
    if (cached) {
      this.archived.delete(cacheKey);
      this.archived.set(cacheKey, cached);
      return cached;
    }
    const loading = this.foldArchived(found);
    this.archived.set(cacheKey, loading);
    loading.catch(() => this.archived.delete(cacheKey));
    while (this.archived.size > ARCHIVED_READERS_KEPT) this.archived.delete(this.archived.keys().next().value as string);
    return loading;
  }

  private async foldArchived({ keys, doc }: { keys: LedgerKeys; doc: ShipmentSummary }): Promise<LedgerReader> {
    const archive = doc.archive as NonNullable<ShipmentSummary['archive']>;
    const { source, snapshotEvery } = this.archives;
    if (!source) throw new ArchivedHistoryUnavailableError({ shipmentId: doc.shipmentId }, 'this reader has no Kafka source for archived events');
    let archived: Awaited<ReturnType<ArchivedEventSource['load']>>;
    try {
      archived = await source.load(archive.positions.map(parsePosition));
    } catch (error) {
      throw new ArchivedHistoryUnavailableError({ shipmentId: doc.shipmentId }, (error as Error).message, { cause: error });
    }
    // Versions 1 … n of this shipment, in order: anything else is not its history.
    const whole = archived.every(({ record }, i) => record.type !== 'CommandOutcome' && record.type !== 'TransactionRecorded' && record.value.aggregateId === doc.shipmentId && record.value.version === i + 1);
    if (archived.length !== archive.positions.length || !whole) {
      throw new ArchivedHistoryUnavailableError({ shipmentId: doc.shipmentId }, `shipment.events holds ${archived.length} of its ${archive.positions.length} archived events at the recorded positions`);
    }
    const later = await this.eventsIn(keys, doc.shipmentId, { afterVersion: archive.version });
    const memory = new MemoryKeyspace();
    const inputs = [...archived, ...later.map(eventDocToInput)];
    applyToMemory(memory, this.keyPrefix, inputs, { snapshotEvery });
    const partitions = [...new Set(inputs.map((input) => input.position.partition))];
    return new LedgerReader(new MemoryReads(memory), this.keyPrefix, () => partitions);
  }

  private async eventsIn(keys: LedgerKeys, id: string, options: { afterVersion?: number; uptoVersion?: number; limit?: number } = {}): Promise<EventDoc[]> {
    const ids = await this.redis.zrangebyscore(keys.shipmentEvents(id), `(${options.afterVersion ?? 0}`, options.uptoVersion ?? '+inf', 'LIMIT', 0, options.limit ?? 100_000);
    return this.docs<EventDoc>(ids.map((e) => ({ partition: keys.partition, key: keys.event(e) })));
  }

  /**
   * The state at `at` (epoch ms on the business axis, or an `AxisCut` naming either axis or both),
   * folded by the domain's `evolveEnvelope`. When no late fact is in effect (always, for a shipment
   * whose facts arrived in order) the events in effect are a version prefix: the nearest snapshot at
   * or before it, plus the events after it. Otherwise they are folded in business-time order (ties
   * by version) from the last snapshot before the earliest late fact in effect.
   */
  async stateAt(id: string, at: number | AxisCut): Promise<StateAt> {
    const cut: AxisCut = typeof at === 'number' ? { asOf: at } : at;
    const found = await this.locateShipment(id);
    if (!found) return { kind: 'unknown' };
    if (found.doc.archive) return (await this.archivedHistory(found)).stateAt(id, cut);
    const { keys, doc: summary } = found;
    const cutOn = async (key: string, instant: number): Promise<number> => {
      const [member] = await this.redis.zrevrangebyscore(key, instant, '-inf', 'LIMIT', 0, 1);
      return member === undefined ? 0 : Number(member);
    };
    // One round trip: the cut on each axis asked for, the late facts (none, mostly).
    const [businessCut, recordedCut, lateFlat] = await Promise.all([
      cut.asOf === undefined ? undefined : cutOn(keys.shipmentTimeline(id), cut.asOf),
      cut.knownAt === undefined ? undefined : cutOn(keys.shipmentRecorded(id), cut.knownAt),
      this.redis.zrangebyscore(keys.shipmentLate(id), '-inf', cut.asOf === undefined ? '+inf' : String(cut.asOf), 'WITHSCORES'),
    ]);
    // A write may land between these reads: nothing newer than the summary counts.
    const newest = summary.version;
    const byBusiness = Math.min(newest, businessCut ?? newest);
    const byRecord = Math.min(newest, recordedCut ?? newest);
    if (byRecord === 0) {
      const [, first] = await this.redis.zrange(keys.shipmentRecorded(id), '0', '0', 'WITHSCORES');
      return { kind: 'not-yet-recorded', firstRecordedAt: first === undefined ? null : Number(first) };
    }
    const late: Array<{ version: number; at: number }> = [];
    for (let i = 0; i < lateFlat.length; i += 2) {
      const version = Number(lateFlat[i]);
      if (version <= byRecord) late.push({ version, at: Number(lateFlat[i + 1]) });
    }
    const through = Math.min(byBusiness, byRecord);
    if (late.length === 0) {
      if (through === 0) return { kind: 'not-yet-created', createdAt: summary.createdAt };
      const snapshot = await this.snapshotAtOrBefore(keys, id, through);
      const from = snapshot?.version ?? 0;
      const events = await this.eventsIn(keys, id, { afterVersion: from, uptoVersion: through });
      return { kind: 'state', version: through, state: foldTo(snapshot, events, through), snapshotVersion: from, eventsFolded: events.length, throughVersion: through, alsoInEffect: [], reordered: false };
    }
    // Late facts in effect: every event before the earliest of them on the business axis is in
    // version order, so the fold starts from the last snapshot there.
    const earliest = Math.min(...late.map((l) => l.at));
    const bound = Math.min(through, await cutOn(keys.shipmentTimeline(id), earliest));
    const snapshot = await this.snapshotAtOrBefore(keys, id, bound);
    const from = snapshot?.version ?? 0;
    const extra = late.filter((l) => l.version > through).map((l) => l.version);
    const [range, extraDocs, runningBefore] = await Promise.all([
      through > from ? this.eventsIn(keys, id, { afterVersion: from, uptoVersion: through }) : Promise.resolve([] as EventDoc[]),
      this.eventsAtVersions(keys, id, extra),
      from > 0 ? this.redis.zscore(keys.shipmentTimeline(id), versionKey(from)) : Promise.resolve(null),
    ]);
    const ordered = businessOrderAfter([...range, ...extraDocs], new Map(late.map((l) => [l.version, l.at])), runningBefore === null ? undefined : Number(runningBefore));
    const version = Math.max(through, ...extra);
    return {
      kind: 'state',
      version,
      state: foldOrdered(snapshot, ordered),
      snapshotVersion: from,
      eventsFolded: ordered.length,
      throughVersion: through,
      alsoInEffect: extra,
      reordered: true,
    };
  }

  private async snapshotAtOrBefore(keys: LedgerKeys, id: string, version: number): Promise<StateSnapshot | undefined> {
    if (version <= 0) return undefined;
    const snapshotKey = keys.shipmentSnapshots(id);
    const [raw] = await this.redis.zrevrangebyscore(snapshotKey, version, '-inf', 'LIMIT', 0, 1);
    return usableSnapshot(raw === undefined ? undefined : parseDoc<StateSnapshot>(snapshotKey, raw));
  }

  private async eventsAtVersions(keys: LedgerKeys, id: string, versions: readonly number[]): Promise<EventDoc[]> {
    if (versions.length === 0) return [];
    const index = keys.shipmentEvents(id);
    const answers = await Promise.all(versions.map((v) => this.redis.zrangebyscore(index, v, v)));
    return this.docs<EventDoc>(answers.flat().map((e) => ({ partition: keys.partition, key: keys.event(e) })));
  }

  /**
   * For each observed event that broke a rule: the event it followed on the business axis when
   * Waybill recorded it (the latest earlier-recorded event at or before its business time, ties by
   * version), i.e. the state it was judged against; null when none. Other events are left out.
   */
  async judgedAfter(docs: readonly EventDoc[]): Promise<Map<string, EventDoc | null>> {
    const out = new Map<string, EventDoc | null>();
    const violating: EventDoc[] = [];
    // An archived shipment's timeline is in its folded history, not in Redis.
    const byShipment = new Map<string, EventDoc[]>();
    for (const d of docs) if (d.observation?.violation) byShipment.set(d.aggregateId, [...(byShipment.get(d.aggregateId) ?? []), d]);
    for (const [id, list] of byShipment) {
      const found = await this.locateShipment(id);
      if (found?.doc.archive) for (const [eventId, judged] of await (await this.archivedHistory(found)).judgedAfter(list)) out.set(eventId, judged);
      else violating.push(...list);
    }
    if (violating.length === 0) return out;
    // An event's keys are in the slot of the partition it was recorded on.
    const keysOf = (d: EventDoc) => this.keys(d.position.partition);
    const picks = await Promise.all(
      violating.map(async (d) => {
        const keys = keysOf(d);
        const [[cut], lateFlat] = await Promise.all([
          this.redis.zrevrangebyscore(keys.shipmentTimeline(d.aggregateId), d.timestamp, '-inf', 'LIMIT', 0, 1),
          this.redis.zrange(keys.shipmentLate(d.aggregateId), '0', '-1', 'WITHSCORES'),
        ]);
        const late = new Map<number, number>();
        for (let j = 0; j < lateFlat.length; j += 2) late.set(Number(lateFlat[j]), Number(lateFlat[j + 1]));
        // The latest event placed in version order (not late) recorded before it, at or before its time…
        let inOrder = Math.min(cut === undefined ? 0 : Number(cut), d.version - 1);
        while (inOrder > 0 && late.has(inOrder)) inOrder -= 1;
        // …or a late fact placed there by its own time, if later on the business axis.
        let lateBest: { version: number; at: number } | undefined;
        for (const [version, at] of late) {
          if (version < d.version && at <= d.timestamp && (!lateBest || at > lateBest.at || (at === lateBest.at && version > lateBest.version))) lateBest = { version, at };
        }
        const score = await this.redis.zscore(keys.shipmentTimeline(d.aggregateId), versionKey(Math.max(1, inOrder)));
        const inOrderAt = inOrder > 0 && score !== null ? Number(score) : undefined;
        const chosen = lateBest && (inOrderAt === undefined || lateBest.at > inOrderAt || (lateBest.at === inOrderAt && lateBest.version > inOrder)) ? lateBest.version : inOrder;
        const [judged] = chosen > 0 ? await this.eventsAtVersions(keys, d.aggregateId, [chosen]) : [];
        return { d, judged };
      }),
    );
    for (const { d, judged } of picks) out.set(d.eventId, judged ?? null);
    return out;
  }

  /** Field-level changes between the states at `from` and `to` (business axis, as recorded by `knownAt` when given), and the events that took effect in between. */
  async diff(id: string, from: number, to: number, knownAt?: number): Promise<ShipmentDiff | undefined> {
    const [a, b] = await Promise.all([this.stateAt(id, { asOf: from, knownAt }), this.stateAt(id, { asOf: to, knownAt })]);
    if (a.kind === 'unknown' || b.kind === 'unknown') return undefined;
    const sideOf = (s: StateAt): ShipmentDiff['from'] => (s.kind === 'state' ? s : { kind: 'not-yet-created', createdAt: s.kind === 'not-yet-created' ? s.createdAt : 0 });
    let events: EventDoc[] = [];
    if (b.kind === 'state') {
      const after = a.kind === 'state' ? Math.min(a.throughVersion, b.throughVersion) : 0;
      const inBetween = await this.shipmentEvents(id, { afterVersion: after, uptoVersion: b.version });
      events = inBetween.filter((e) => isInEffect(b, e.version) && !(a.kind === 'state' && isInEffect(a, e.version)));
    }
    return { from: sideOf(a), to: sideOf(b), changes: diffStates(a.kind === 'state' ? a.state : undefined, b.kind === 'state' ? b.state : undefined), events };
  }

  /** One event with the previous and next event of the same shipment (null at either end). */
  async event(eventId: string): Promise<{ event: EventDoc; previous: EventDoc | null; next: EventDoc | null } | undefined> {
    const found = await this.findAcross<EventDoc>((k) => k.event(eventId));
    if (!found) return undefined;
    const { keys, doc: event } = found;
    const index = keys.shipmentEvents(event.aggregateId);
    const [[prevId], [nextId]] = await Promise.all([
      this.redis.zrevrangebyscore(index, `(${event.version}`, '-inf', 'LIMIT', 0, 1),
      this.redis.zrangebyscore(index, `(${event.version}`, '+inf', 'LIMIT', 0, 1),
    ]);
    const [previous, next] = await this.docsSparse<EventDoc>([prevId, nextId].map((id) => (id === undefined ? undefined : { partition: keys.partition, key: keys.event(id) })));
    return { event, previous: previous ?? null, next: next ?? null };
  }

  /** Shipment events newest first, filtered by type, principal and time range (inclusive, epoch ms). */
  async events(options: { type?: string; initiatedBy?: string; from?: number; to?: number; cursor?: string; limit: number }): Promise<Page<EventDoc>> {
    const { type, initiatedBy } = options;
    const index = (k: LedgerKeys) => (initiatedBy !== undefined ? k.feedByUser(initiatedBy) : type !== undefined ? k.feedByType(type) : k.feed);
    const after = decodeCursor(options.cursor, /^\d{15}\|.+$/s);
    const bounds = {
      min: options.from === undefined ? '-' : `[${timeKey(options.from)}|`,
      max: options.to === undefined ? '+' : `(${timeKey(options.to + 1)}|`,
    };
    return this.pageLex<EventDoc>(index, 'desc', after, bounds, options.limit, (k, m) => k.event(m.slice(16)), (doc) => type === undefined || doc.type === type);
  }

  /** Everything a trace caused (shipment events, outcomes, transactions), oldest first. */
  async trace(traceId: string): Promise<{ items: TraceItem[]; truncated: boolean }> {
    // A trace crosses partitions (a shipment's events, the account it charged): each partition holds its part.
    const all = this.everyPartition();
    const parts = await Promise.all(all.map((k) => this.redis.zrangebylex(k.trace(traceId), '-', '+', 'LIMIT', 0, MAX_TRACE_ITEMS + 1)));
    const members = uniqueMembers(parts.flatMap((list, i) => list.map((member): SlotMember => ({ partition: all[i].partition, member }))).sort((a, b) => byBytes(a.member, b.member)));
    const parsed = members.slice(0, MAX_TRACE_ITEMS).map(({ partition, member: m }) => {
      const [time, kind] = [m.slice(0, 15), m.slice(16, m.indexOf('|', 16))] as [string, TraceItemKind];
      return { partition, at: Number(time), kind, id: m.slice(17 + kind.length) };
    });
    const refs = parsed.map(({ partition, kind, id }): SlotKey => {
      const k = this.keys(partition);
      return { partition, key: kind === 'event' ? k.event(id) : kind === 'outcome' ? k.outcome(id) : k.transaction(id) };
    });
    const raw = await this.getMany(refs);
    const items = parsed.flatMap((p, i): TraceItem[] => {
      const doc = parseDoc<never>(refs[i].key, raw[i]);
      return doc === undefined ? [] : [{ kind: p.kind, at: p.at, doc } as TraceItem];
    });
    return { items, truncated: members.length > MAX_TRACE_ITEMS };
  }

  /** Outcomes that raised an alert, newest first. */
  async alerts(options: { cursor?: string; limit: number }): Promise<Page<OutcomeDoc>> {
    const after = decodeCursor(options.cursor, /^\d{15}\|.+$/s);
    return this.pageLex<OutcomeDoc>((k) => k.alerts, 'desc', after, { min: '-', max: '+' }, options.limit, (k, m) => k.outcome(m.slice(16)));
  }

  async outcome(outcomeId: string): Promise<OutcomeDoc | undefined> {
    return (await this.findAcross<OutcomeDoc>((k) => k.outcome(outcomeId)))?.doc;
  }

  async account(accountId: string): Promise<AccountSummary | undefined> {
    return (await this.findAcross<AccountSummary>((k) => k.account(accountId), (doc) => doc.version))?.doc;
  }

  /**
   * An account's transactions, newest first, each with the event that caused it when the ledger has
   * it. Those past the retention window are in the account's archive and read back from Kafka.
   */
  async accountTransactions(accountId: string, options: { cursor?: string; limit: number }): Promise<Page<TransactionDoc & { cause: EventDoc | null }>> {
    const before = decodeCursor(options.cursor, /^\d{1,15}$/);
    const found = await this.findAcross<AccountSummary>((k) => k.account(accountId), (doc) => doc.version);
    if (!found) return { items: [], nextCursor: null };
    // A transaction the window archives between reading the list and its document is read again, from the archive.
    for (let attempt = 1; ; attempt += 1) {
      const page = await this.accountTransactionsPage(accountId, found.keys, before, options.limit);
      if (page) return page;
      if (attempt === 3) throw new CorruptReadModelError(`${found.keys.accountTransactions(accountId)}: a listed transaction has no document`);
    }
  }

  private async accountTransactionsPage(accountId: string, keys: LedgerKeys, before: string | undefined, limit: number): Promise<Page<TransactionDoc & { cause: EventDoc | null }> | undefined> {
    const max = before === undefined ? '+inf' : `(${before}`;
    const wanted = limit + 1;
    // The window archives by booking time, so live and archived versions may interleave: the page
    // is the newest of both.
    const [live, archived] = await Promise.all(
      [keys.accountTransactions(accountId), keys.accountArchived(accountId)].map(async (key) => scoredMembers(await this.redis.zrevrangebyscore(key, max, '-inf', 'WITHSCORES', 'LIMIT', 0, wanted))),
    );
    const entries = [...live.map((e) => ({ ...e, archived: false })), ...archived.map((e) => ({ ...e, archived: true }))].sort((a, b) => b.score - a.score).slice(0, wanted);
    const shown = entries.slice(0, limit);
    const liveDocs = await this.docsSparse<TransactionDoc>(shown.map((e) => (e.archived ? undefined : { partition: keys.partition, key: keys.transaction(e.member) })));
    if (shown.some((e, i) => !e.archived && liveDocs[i] === undefined)) return undefined;
    const archivedDocs = await this.archivedTransactions(accountId, keys.partition, shown.filter((e) => e.archived).map((e) => parseArchivedTransactionMember(e.member)));
    const docs = shown.map((e, i) => (e.archived ? archivedDocs.shift() : liveDocs[i]) as TransactionDoc);
    const causes = await this.causesOf(docs);
    return {
      items: docs.map((doc, i) => ({ ...doc, cause: causes[i] })),
      nextCursor: entries.length > limit ? encodeCursor(String(shown[shown.length - 1].score)) : null,
    };
  }

  private async archivedTransactions(accountId: string, partition: number, members: ReadonlyArray<{ offset: string; transactionId: string }>): Promise<TransactionDoc[]> {
    if (!members.length) return [];
    const { source } = this.archives;
    if (!source) throw new ArchivedHistoryUnavailableError({ accountId }, 'this reader has no Kafka source for archived transactions');
    let inputs: LedgerInput[];
    try {
      inputs = await source.load(members.map(({ offset }) => ({ partition, offset })), TOPICS.accountingTransactions);
    } catch (error) {
      throw new ArchivedHistoryUnavailableError({ accountId }, (error as Error).message, { cause: error });
    }
    const byOffset = new Map(inputs.map((input) => [input.position.offset, input]));
    return members.map(({ offset, transactionId }) => {
      const input = byOffset.get(offset);
      if (input?.record.type !== 'TransactionRecorded' || input.record.value.data.transactionId !== transactionId) {
        throw new ArchivedHistoryUnavailableError({ accountId }, `accounting.transactions holds no transaction ${transactionId} at partition ${partition} offset ${offset}`);
      }
      return { ...input.record.value, position: input.position };
    });
  }

  /**
   * The event that caused each transaction, when the ledger has it: in its shipment's partition,
   * located once per shipment; a transaction that names no shipment is looked for in every one.
   */
  private async causesOf(docs: readonly TransactionDoc[]): Promise<Array<EventDoc | null>> {
    const shipments = [...new Set(docs.flatMap((d) => (d.data.sourceEventId && d.data.shipmentId ? [d.data.shipmentId] : [])))];
    const located = new Map(await Promise.all(shipments.map(async (id) => [id, await this.locateShipment(id)] as const)));
    const refs = docs.map((d): SlotKey | undefined => {
      const found = d.data.shipmentId ? located.get(d.data.shipmentId) : undefined;
      return d.data.sourceEventId && found && !found.doc.archive ? { partition: found.keys.partition, key: this.keys(found.keys.partition).event(d.data.sourceEventId) } : undefined;
    });
    const inRedis = await this.docsSparse<EventDoc>(refs);
    return Promise.all(
      docs.map(async (d, i) => {
        if (inRedis[i]) return inRedis[i] as EventDoc;
        const eventId = d.data.sourceEventId;
        if (!eventId) return null;
        const found = d.data.shipmentId ? located.get(d.data.shipmentId) : undefined;
        // The shipment is archived: its event is in the history read back from Kafka.
        if (found?.doc.archive) return (await (await this.archivedHistory(found)).event(eventId))?.event ?? null;
        if (d.data.shipmentId) return null;
        return (await this.findAcross<EventDoc>((k) => k.event(eventId)))?.doc ?? null;
      }),
    );
  }

  /** The values of `refs`, in order (null where absent): one MGET per partition, since a cluster's MGET stays in one slot. */
  private async getMany(refs: ReadonlyArray<SlotKey | undefined>): Promise<Array<string | null>> {
    const byPartition = new Map<number, number[]>();
    refs.forEach((ref, i) => {
      if (ref) byPartition.set(ref.partition, [...(byPartition.get(ref.partition) ?? []), i]);
    });
    const out: Array<string | null> = refs.map(() => null);
    await Promise.all(
      [...byPartition.values()].map(async (indexes) => {
        const values = await this.redis.mget(...indexes.map((i) => (refs[i] as SlotKey).key));
        indexes.forEach((i, j) => (out[i] = values[j] ?? null));
      }),
    );
    return out;
  }

  private async docs<T>(refs: readonly SlotKey[]): Promise<T[]> {
    return (await this.docsSparse<T>(refs)).filter((d): d is T => d !== undefined);
  }

  private async docsSparse<T>(refs: ReadonlyArray<SlotKey | undefined>): Promise<Array<T | undefined>> {
    const raw = await this.getMany(refs);
    return refs.map((ref, i) => (ref === undefined ? undefined : parseDoc<T>(ref.key, raw[i])));
  }

  // Pages through every partition's score-0 `index` in lexicographic order from just past `after`,
  // merged, loading each chunk's documents (in the member's partition) and keeping those that pass
  // `accept`, until `limit` are found or the indexes end. The cursor is a member, so it is the same
  // whichever partitions there are.
  private async pageLex<T>(
    index: (keys: LedgerKeys) => string,
    order: 'asc' | 'desc',
    after: string | undefined,
    bounds: { min: string; max: string },
    limit: number,
    docKey: (keys: LedgerKeys, member: string) => string,
    accept: (item: T) => boolean = () => true,
  ): Promise<Page<T>> {
    const items: T[] = [];
    let cursor = after;
    let examined = 0;
    const chunk = Math.min(500, Math.max(limit + 1, 50));
    const all = this.everyPartition();
    for (;;) {
      const from = cursor === undefined ? undefined : `(${cursor}`;
      const lists = await Promise.all(
        all.map((k) =>
          order === 'asc'
            ? this.redis.zrangebylex(index(k), from ?? bounds.min, bounds.max, 'LIMIT', 0, chunk)
            : this.redis.zrevrangebylex(index(k), from ?? bounds.max, bounds.min, 'LIMIT', 0, chunk),
        ),
      );
      const merged = uniqueMembers(
        lists.flatMap((list, i) => list.map((member): SlotMember => ({ partition: all[i].partition, member }))).sort((a, b) => (order === 'asc' ? byBytes(a.member, b.member) : byBytes(b.member, a.member))),
      );
      // Past the first `chunk` merged members a partition may not have said all it holds yet.
      const members = merged.slice(0, chunk);
      const ended = merged.length <= chunk && lists.every((list) => list.length < chunk);
      if (members.length === 0) return { items, nextCursor: null };
      const docs = await this.docsSparse<T>(members.map(({ partition, member }) => ({ partition, key: docKey(this.keys(partition), member) })));
      for (let i = 0; i < members.length; i += 1) {
        cursor = members[i].member;
        examined += 1;
        // A member whose document is missing is skipped.
        const doc = docs[i];
        if (doc !== undefined && accept(doc)) items.push(doc);
        if (items.length === limit) {
          const more = i < members.length - 1 || !ended;
          return { items, nextCursor: more ? encodeCursor(cursor) : null };
        }
        if (examined >= MAX_EXAMINED) return { items, nextCursor: encodeCursor(cursor) };
      }
      if (ended) return { items, nextCursor: null };
    }
  }
}

/** A WITHSCORES reply as members with their scores. */
function scoredMembers(flat: readonly string[]): Array<{ member: string; score: number }> {
  const out: Array<{ member: string; score: number }> = [];
  for (let i = 0; i < flat.length; i += 2) out.push({ member: flat[i], score: Number(flat[i + 1]) });
  return out;
}
