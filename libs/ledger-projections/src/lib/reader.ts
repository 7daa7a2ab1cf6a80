import type Redis from 'ioredis';
import { SHIPMENT_STATUSES, type ShipmentState, type ShipmentStatus } from '@waybill/shipment-domain';
import { SHIPMENT_ID_PATTERN } from '@waybill/shipment-messages';
import { businessOrderAfter, diffStates, foldOrdered, foldTo, usableSnapshot, type FieldChange } from './as-of';
import type { AccountSummary, EventDoc, OutcomeDoc, ShipmentSummary, StateSnapshot, TraceItemKind, TransactionDoc } from './documents';
import { CorruptReadModelError, InvalidQueryError } from './errors';
import { ledgerKeys, timeKey, versionKey, type LedgerKeys } from './keys';
import { groupOffsets, type ReflectedOffsets } from './offsets';

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

/**
 * Queries over the ledger read models under one key prefix. Every method reads Redis only; what the
 * answers reflect is `offsets()`, read before the data, so it is a lower bound.
 */
export class LedgerReader {
  readonly keys: LedgerKeys;

  constructor(
    private readonly redis: Redis,
    keyPrefix: string,
  ) {
    this.keys = ledgerKeys(keyPrefix);
  }

  async offsets(): Promise<ReflectedOffsets> {
    return groupOffsets(await this.redis.hgetall(this.keys.offsets));
  }

  async shipment(id: string): Promise<ShipmentSummary | undefined> {
    const key = this.keys.shipment(id);
    return parseDoc<ShipmentSummary>(key, await this.redis.get(key));
  }

  /** Shipments in id order, optionally in one status and/or whose id or order id contains `q` (case-insensitive). */
  async listShipments(options: { status?: ShipmentStatus; q?: string; cursor?: string; limit: number }): Promise<Page<ShipmentSummary>> {
    const index = options.status ? this.keys.status(options.status) : this.keys.shipments;
    // A shipments cursor is the last shipment id of the page before: anything else was never handed out.
    const after = decodeCursor(options.cursor, SHIPMENT_ID_PATTERN);
    const needle = options.q?.toLowerCase();
    return this.pageLex<ShipmentSummary>(index, 'asc', after, { min: '-', max: '+' }, options.limit, (ids) => this.mget(ids.map((id) => this.keys.shipment(id))), (s) =>
      needle === undefined ? true : s.shipmentId.toLowerCase().includes(needle) || s.orderId.toLowerCase().includes(needle),
    );
  }

  async statusCounts(): Promise<Record<ShipmentStatus, number>> {
    const hash = await this.redis.hgetall(this.keys.statusCounts);
    return Object.fromEntries(SHIPMENT_STATUSES.map((s) => [s, Number(hash[s] ?? 0)])) as Record<ShipmentStatus, number>;
  }

  /** A shipment's events in version order, after `afterVersion`. */
  async shipmentEvents(id: string, options: { afterVersion?: number; uptoVersion?: number; limit?: number } = {}): Promise<EventDoc[]> {
    const ids = await this.redis.zrangebyscore(
      this.keys.shipmentEvents(id),
      `(${options.afterVersion ?? 0}`,
      options.uptoVersion ?? '+inf',
      'LIMIT',
      0,
      options.limit ?? 100_000,
    );
    return this.mget<EventDoc>(ids.map((e) => this.keys.event(e)));
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
    const cutOn = async (key: string, instant: number): Promise<number> => {
      const [member] = await this.redis.zrevrangebyscore(key, instant, '-inf', 'LIMIT', 0, 1);
      return member === undefined ? 0 : Number(member);
    };
    // One round trip: the summary, the cut on each axis asked for, the late facts (none, mostly).
    const [summary, businessCut, recordedCut, lateFlat] = await Promise.all([
      this.shipment(id),
      cut.asOf === undefined ? undefined : cutOn(this.keys.shipmentTimeline(id), cut.asOf),
      cut.knownAt === undefined ? undefined : cutOn(this.keys.shipmentRecorded(id), cut.knownAt),
      this.redis.zrangebyscore(this.keys.shipmentLate(id), '-inf', cut.asOf === undefined ? '+inf' : String(cut.asOf), 'WITHSCORES'),
    ]);
    if (!summary) return { kind: 'unknown' };
    // A write may land between these reads: nothing newer than the summary counts.
    const newest = summary.version;
    const byBusiness = Math.min(newest, businessCut ?? newest);
    const byRecord = Math.min(newest, recordedCut ?? newest);
    if (byRecord === 0) {
      const [, first] = await this.redis.zrange(this.keys.shipmentRecorded(id), '0', '0', 'WITHSCORES');
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
      const snapshot = await this.snapshotAtOrBefore(id, through);
      const from = snapshot?.version ?? 0;
      const events = await this.shipmentEvents(id, { afterVersion: from, uptoVersion: through });
      return { kind: 'state', version: through, state: foldTo(snapshot, events, through), snapshotVersion: from, eventsFolded: events.length, throughVersion: through, alsoInEffect: [], reordered: false };
    }
    // Late facts in effect: every event before the earliest of them on the business axis is in
    // version order, so the fold starts from the last snapshot there.
    const earliest = Math.min(...late.map((l) => l.at));
    const bound = Math.min(through, await cutOn(this.keys.shipmentTimeline(id), earliest));
    const snapshot = await this.snapshotAtOrBefore(id, bound);
    const from = snapshot?.version ?? 0;
    const extra = late.filter((l) => l.version > through).map((l) => l.version);
    const [range, extraDocs, runningBefore] = await Promise.all([
      through > from ? this.shipmentEvents(id, { afterVersion: from, uptoVersion: through }) : Promise.resolve([] as EventDoc[]),
      this.eventsAtVersions(id, extra),
      from > 0 ? this.redis.zscore(this.keys.shipmentTimeline(id), versionKey(from)) : Promise.resolve(null),
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

  private async snapshotAtOrBefore(id: string, version: number): Promise<StateSnapshot | undefined> {
    if (version <= 0) return undefined;
    const snapshotKey = this.keys.shipmentSnapshots(id);
    const [raw] = await this.redis.zrevrangebyscore(snapshotKey, version, '-inf', 'LIMIT', 0, 1);
    return usableSnapshot(raw === undefined ? undefined : parseDoc<StateSnapshot>(snapshotKey, raw));
  }

  private async eventsAtVersions(id: string, versions: readonly number[]): Promise<EventDoc[]> {
    if (versions.length === 0) return [];
    const index = this.keys.shipmentEvents(id);
    const pipeline = this.redis.pipeline();
    for (const v of versions) pipeline.zrangebyscore(index, v, v);
    const answers = (await pipeline.exec()) ?? [];
    const ids = answers.flatMap(([error, members]) => {
      if (error) throw error;
      return members as string[];
    });
    return this.mget<EventDoc>(ids.map((e) => this.keys.event(e)));
  }

  /**
   * For each observed event that broke a rule: the event it followed on the business axis when
   * Waybill recorded it (the latest earlier-recorded event at or before its business time, ties by
   * version), i.e. the state it was judged against; null when none. Other events are left out.
   */
  async judgedAfter(docs: readonly EventDoc[]): Promise<Map<string, EventDoc | null>> {
    const violating = docs.filter((d) => d.observation?.violation);
    const out = new Map<string, EventDoc | null>();
    if (violating.length === 0) return out;
    const first = this.redis.pipeline();
    for (const d of violating) {
      first.zrevrangebyscore(this.keys.shipmentTimeline(d.aggregateId), d.timestamp, '-inf', 'LIMIT', 0, 1);
      first.zrange(this.keys.shipmentLate(d.aggregateId), '0', '-1', 'WITHSCORES');
    }
    const answers = ((await first.exec()) ?? []).map(([error, value]) => {
      if (error) throw error;
      return value as string[];
    });
    const picks = violating.map((d, i) => {
      const [cut] = answers[2 * i];
      const lateFlat = answers[2 * i + 1];
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
      return { d, inOrder, lateBest };
    });
    const second = this.redis.pipeline();
    for (const p of picks) second.zscore(this.keys.shipmentTimeline(p.d.aggregateId), versionKey(Math.max(1, p.inOrder)));
    const scores = ((await second.exec()) ?? []).map(([error, value]) => {
      if (error) throw error;
      return value === null ? undefined : Number(value);
    });
    const chosen = picks.map((p, i) => {
      const inOrderAt = p.inOrder > 0 ? scores[i] : undefined;
      if (p.lateBest && (inOrderAt === undefined || p.lateBest.at > inOrderAt || (p.lateBest.at === inOrderAt && p.lateBest.version > p.inOrder))) return p.lateBest.version;
      return p.inOrder;
    });
    const docsOf = await Promise.all(picks.map((p, i) => (chosen[i] > 0 ? this.eventsAtVersions(p.d.aggregateId, [chosen[i]]) : Promise.resolve([] as EventDoc[]))));
    picks.forEach((p, i) => out.set(p.d.eventId, docsOf[i][0] ?? null));
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
    const key = this.keys.event(eventId);
    const event = parseDoc<EventDoc>(key, await this.redis.get(key));
    if (!event) return undefined;
    const index = this.keys.shipmentEvents(event.aggregateId);
    const [[prevId], [nextId]] = await Promise.all([
      this.redis.zrevrangebyscore(index, `(${event.version}`, '-inf', 'LIMIT', 0, 1),
      this.redis.zrangebyscore(index, `(${event.version}`, '+inf', 'LIMIT', 0, 1),
    ]);
    const [previous, next] = await Promise.all([prevId, nextId].map(async (id) => (id === undefined ? null : ((await this.mget<EventDoc>([this.keys.event(id)]))[0] ?? null))));
    return { event, previous, next };
  }

  /** Shipment events newest first, filtered by type, principal and time range (inclusive, epoch ms). */
  async events(options: { type?: string; initiatedBy?: string; from?: number; to?: number; cursor?: string; limit: number }): Promise<Page<EventDoc>> {
    const index = options.initiatedBy !== undefined ? this.keys.feedByUser(options.initiatedBy) : options.type !== undefined ? this.keys.feedByType(options.type) : this.keys.feed;
    const after = decodeCursor(options.cursor, /^\d{15}\|.+$/s);
    const bounds = {
      min: options.from === undefined ? '-' : `[${timeKey(options.from)}|`,
      max: options.to === undefined ? '+' : `(${timeKey(options.to + 1)}|`,
    };
    return this.pageLex<EventDoc>(
      index,
      'desc',
      after,
      bounds,
      options.limit,
      (members) => this.mget(members.map((m) => this.keys.event(m.slice(16)))),
      (doc) => options.type === undefined || doc.type === options.type,
    );
  }

  /** Everything a trace caused (shipment events, outcomes, transactions), oldest first. */
  async trace(traceId: string): Promise<{ items: TraceItem[]; truncated: boolean }> {
    const members = await this.redis.zrangebylex(this.keys.trace(traceId), '-', '+', 'LIMIT', 0, MAX_TRACE_ITEMS + 1);
    const parsed = members.slice(0, MAX_TRACE_ITEMS).map((m) => {
      const [time, kind] = [m.slice(0, 15), m.slice(16, m.indexOf('|', 16))] as [string, TraceItemKind];
      return { at: Number(time), kind, id: m.slice(17 + kind.length) };
    });
    const keyOf = ({ kind, id }: { kind: TraceItemKind; id: string }) =>
      kind === 'event' ? this.keys.event(id) : kind === 'outcome' ? this.keys.outcome(id) : this.keys.transaction(id);
    const keys = parsed.map(keyOf);
    const raw = keys.length ? await this.redis.mget(...keys) : [];
    const items = parsed.flatMap((p, i): TraceItem[] => {
      const doc = parseDoc<never>(keys[i], raw[i] ?? null);
      return doc === undefined ? [] : [{ kind: p.kind, at: p.at, doc } as TraceItem];
    });
    return { items, truncated: members.length > MAX_TRACE_ITEMS };
  }

  /** Outcomes that raised an alert, newest first. */
  async alerts(options: { cursor?: string; limit: number }): Promise<Page<OutcomeDoc>> {
    const after = decodeCursor(options.cursor, /^\d{15}\|.+$/s);
    return this.pageLex<OutcomeDoc>(this.keys.alerts, 'desc', after, { min: '-', max: '+' }, options.limit, (members) =>
      this.mget(members.map((m) => this.keys.outcome(m.slice(16)))),
    );
  }

  async outcome(outcomeId: string): Promise<OutcomeDoc | undefined> {
    const key = this.keys.outcome(outcomeId);
    return parseDoc<OutcomeDoc>(key, await this.redis.get(key));
  }

  async account(accountId: string): Promise<AccountSummary | undefined> {
    const key = this.keys.account(accountId);
    return parseDoc<AccountSummary>(key, await this.redis.get(key));
  }

  /** An account's transactions, newest first, each with the event that caused it when the ledger has it. */
  async accountTransactions(accountId: string, options: { cursor?: string; limit: number }): Promise<Page<TransactionDoc & { cause: EventDoc | null }>> {
    const before = decodeCursor(options.cursor, /^\d{1,15}$/);
    const flat = await this.redis.zrevrangebyscore(
      this.keys.accountTransactions(accountId),
      before === undefined ? '+inf' : `(${before}`,
      '-inf',
      'WITHSCORES',
      'LIMIT',
      0,
      options.limit + 1,
    );
    const ids: string[] = [];
    const versions: string[] = [];
    for (let i = 0; i < flat.length; i += 2) {
      ids.push(flat[i]);
      versions.push(flat[i + 1]);
    }
    const shown = ids.slice(0, options.limit);
    const docs = await this.mget<TransactionDoc>(shown.map((id) => this.keys.transaction(id)));
    const causeIds = docs.map((d) => d.data.sourceEventId);
    const causes = await this.mgetSparse<EventDoc>(causeIds.map((id) => (id ? this.keys.event(id) : undefined)));
    return {
      items: docs.map((doc, i) => ({ ...doc, cause: causes[i] ?? null })),
      nextCursor: ids.length > options.limit ? encodeCursor(versions[options.limit - 1]) : null,
    };
  }

  private async mget<T>(keys: string[]): Promise<T[]> {
    return (await this.mgetSparse<T>(keys)).filter((d): d is T => d !== undefined);
  }

  private async mgetSparse<T>(keys: Array<string | undefined>): Promise<Array<T | undefined>> {
    const present = keys.filter((k): k is string => k !== undefined);
    const raw = present.length ? await this.redis.mget(...present) : [];
    let j = 0;
    return keys.map((k) => (k === undefined ? undefined : parseDoc<T>(k, raw[j++] ?? null)));
  }

  // Pages through a score-0 zset in lexicographic order from just past `after`, loading each chunk's
  // documents and keeping those that pass `accept`, until `limit` are found or the index ends.
  private async pageLex<T>(
    key: string,
    order: 'asc' | 'desc',
    after: string | undefined,
    bounds: { min: string; max: string },
    limit: number,
    load: (members: string[]) => Promise<T[]>,
    accept: (item: T) => boolean = () => true,
  ): Promise<Page<T>> {
    const items: T[] = [];
    let cursor = after;
    let examined = 0;
    const chunk = Math.min(500, Math.max(limit + 1, 50));
    for (;;) {
      const members =
        order === 'asc'
          ? await this.redis.zrangebylex(key, cursor === undefined ? bounds.min : `(${cursor}`, bounds.max, 'LIMIT', 0, chunk)
          : await this.redis.zrevrangebylex(key, cursor === undefined ? bounds.max : `(${cursor}`, bounds.min, 'LIMIT', 0, chunk);
      if (members.length === 0) return { items, nextCursor: null };
      // Members whose document is missing are skipped: load() returns only those it found.
      const docs = await this.loadAligned(members, load);
      for (let i = 0; i < members.length; i += 1) {
        cursor = members[i];
        examined += 1;
        const doc = docs[i];
        if (doc !== undefined && accept(doc)) items.push(doc);
        if (items.length === limit) {
          const more = i < members.length - 1 || members.length === chunk;
          return { items, nextCursor: more ? encodeCursor(cursor) : null };
        }
        if (examined >= MAX_EXAMINED) return { items, nextCursor: encodeCursor(cursor) };
      }
      if (members.length < chunk) return { items, nextCursor: null };
    }
  }

  private async loadAligned<T>(members: string[], load: (members: string[]) => Promise<T[]>): Promise<Array<T | undefined>> {
    // load() drops missing documents; loading one by one when that happens keeps members and docs aligned.
    const docs = await load(members);
    if (docs.length === members.length) return docs;
    return Promise.all(members.map(async (m) => (await load([m]))[0]));
  }
}
