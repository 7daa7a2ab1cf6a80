import { evolveEnvelope, initialState, STATE_SHAPE_VERSION, type ShipmentState } from '@waybill/shipment-domain';
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

/** Field-level changes from `before` to `after` (a missing state is no fields at all), sorted by path. */
export function diffStates(before: ShipmentState | undefined, after: ShipmentState | undefined): FieldChange[] {
  const a = new Map<string, unknown>();
  const b = new Map<string, unknown>();
  if (before) flatten(before, '', a);
  if (after) flatten(after, '', b);
  const paths = [...new Set([...a.keys(), ...b.keys()])].sort();
  return paths
    .filter((p) => JSON.stringify(a.get(p)) !== JSON.stringify(b.get(p)))
    .map((p) => ({ path: p, before: a.has(p) ? a.get(p) : null, after: b.has(p) ? b.get(p) : null }));
}
