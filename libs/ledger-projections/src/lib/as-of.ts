import { arrivesLate, evolveEnvelope, initialState, STATE_SHAPE_VERSION, type ShipmentState } from '@waybill/shipment-domain';
import type { EventDoc, StateSnapshot } from './documents';
import { docToEnvelope } from './project';

/**
 * The version in effect at `instant`: the highest version whose effective time (the running
 * maximum of event times up to it) is at or before the instant; 0 when none is. An event counts
 * from its own timestamp on, inclusive. Effective times make "as of" monotonic even if a clock
 * stepped back between two events: a later version is never in effect before an earlier one.
 */
export function versionAt(timeline: ReadonlyArray<{ version: number; effectiveAt: number }>, instant: number): number {
  let version = 0;
  for (const entry of timeline) if (entry.effectiveAt <= instant && entry.version > version) version = entry.version;
  return version;
}

/** The effective times of a shipment's events (what the projection stores as its timeline). */
export function timelineOf(events: readonly EventDoc[]): Array<{ version: number; effectiveAt: number }> {
  let effectiveAt = -Infinity;
  return [...events]
    .sort((a, b) => a.version - b.version)
    .map((event) => ((effectiveAt = Math.max(effectiveAt, event.timestamp)), { version: event.version, effectiveAt }));
}

/** A snapshot is trusted only if the current state shape wrote it (docs/ARCHITECTURE.md §7). */
export function usableSnapshot(snapshot: StateSnapshot | undefined): StateSnapshot | undefined {
  return snapshot && snapshot.shape === STATE_SHAPE_VERSION ? snapshot : undefined;
}

/**
 * The state after `version`, folded with the domain's own `evolveEnvelope` from `snapshot` (or
 * from the initial state) over the events after it, in version order.
 */
export function foldTo(snapshot: StateSnapshot | undefined, events: readonly EventDoc[], version: number): ShipmentState {
  const start = usableSnapshot(snapshot && snapshot.version <= version ? snapshot : undefined);
  let state = start ? start.state : initialState();
  const from = start ? start.version : 0;
  for (const event of [...events].sort((a, b) => a.version - b.version)) {
    if (event.version > from && event.version <= version) state = evolveEnvelope(state, docToEnvelope(event));
  }
  return state;
}

/** Where an event sits on the two axes: its business time (`at`) and when Waybill knew it (`knownFrom`). */
export interface Placed {
  doc: EventDoc;
  /** Business-axis time: an observed fact that arrived late keeps its own time; every other event the running maximum of event times (so a clock that stepped back never moves a decision before an earlier one). */
  at: number;
  /** Recorded-axis time: the running maximum of the recording times up to this version. */
  knownFrom: number;
  late: boolean;
}

/** Every event of a shipment placed on both axes, in version order (the reference the reader's indexes hold). */
export function placeEvents(events: readonly EventDoc[]): Placed[] {
  let running: number | undefined;
  let known = -Infinity;
  return [...events]
    .sort((a, b) => a.version - b.version)
    .map((doc) => {
      const late = arrivesLate(doc, running);
      running = Math.max(running ?? doc.timestamp, doc.timestamp);
      known = Math.max(known, doc.recordedAt);
      return { doc, at: late ? doc.timestamp : running, knownFrom: known, late };
    });
}

/** Business-axis order: by business time, ties by version. */
export const byBusinessTime = (a: { at: number; doc: { version: number } }, b: { at: number; doc: { version: number } }) => a.at - b.at || a.doc.version - b.doc.version;

/**
 * The events in effect at business time `asOf` as Waybill had recorded them by `knownAt` (either
 * may be absent: no limit on that axis), in business-time order, ties by version. Brute force over
 * every event: what `LedgerReader.stateAt` answers with its indexes and snapshots.
 */
export function inEffect(events: readonly EventDoc[], cut: { asOf?: number; knownAt?: number } = {}): EventDoc[] {
  return placeEvents(events)
    .filter((p) => (cut.asOf === undefined || p.at <= cut.asOf) && (cut.knownAt === undefined || p.knownFrom <= cut.knownAt))
    .sort(byBusinessTime)
    .map((p) => p.doc);
}

/**
 * Folds `ordered` (events in the order they took effect) with the domain's `evolveEnvelope` from
 * `snapshot` (or the initial state). The state's version is the highest version folded: on the
 * business axis a late fact may be folded before an event recorded earlier.
 */
export function foldOrdered(snapshot: StateSnapshot | undefined, ordered: readonly EventDoc[]): ShipmentState {
  const start = usableSnapshot(snapshot);
  let state = start ? start.state : initialState();
  let version = start?.version ?? 0;
  for (const event of ordered) {
    state = evolveEnvelope(state, docToEnvelope(event));
    version = Math.max(version, event.version);
  }
  return state.version === version ? state : { ...state, version };
}

/**
 * The reader's sorted fold after a snapshot: `events` are the recorded events after it (version
 * order), `late` the business times of the late facts among them by version, `runningBefore` the
 * running maximum of event times at the snapshot. Returns them in business-time order.
 */
export function businessOrderAfter(events: readonly EventDoc[], late: ReadonlyMap<number, number>, runningBefore: number | undefined): EventDoc[] {
  let running = runningBefore;
  const placed = [...events]
    .sort((a, b) => a.version - b.version)
    .map((doc) => {
      const own = late.get(doc.version);
      running = Math.max(running ?? doc.timestamp, doc.timestamp);
      return { doc, at: own ?? running };
    });
  return placed.sort(byBusinessTime).map((p) => p.doc);
}

/** One field that differs between two states; `path` like `status` or `lines[0].picked`. */
export interface FieldChange {
  path: string;
  before: unknown;
  after: unknown;
}

function flatten(value: unknown, path: string, out: Map<string, unknown>): void {
  if (Array.isArray(value)) {
    if (value.length === 0) out.set(path, []);
    value.forEach((item, i) => flatten(item, `${path}[${i}]`, out));
  } else if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value);
    if (entries.length === 0 && path) out.set(path, {});
    for (const [k, v] of entries) flatten(v, path ? `${path}.${k}` : k, out);
  } else if (path) {
    out.set(path, value);
  }
}

/** State fields that are the fold's bookkeeping, not facts about the shipment: a diff leaves them out. */
const BOOKKEEPING = new Set<string>(['statusTimeline', 'lastEventAt']);

/** Field-level changes from `before` to `after` (a missing state is no fields at all), sorted by path; bookkeeping (`statusTimeline`, `lastEventAt`) left out. */
export function diffStates(before: ShipmentState | undefined, after: ShipmentState | undefined): FieldChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  const facts = (state: ShipmentState) => Object.fromEntries(Object.entries(state).filter(([k]) => !BOOKKEEPING.has(k)));
  if (before) flatten(facts(before), '', a);
  if (after) flatten(facts(after), '', b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter((p) => JSON.stringify(a.get(p)) !== JSON.stringify(b.get(p)))
    .map((p) => ({ path: p, before: a.has(p) ? a.get(p) : null, after: b.has(p) ? b.get(p) : null }));
}
