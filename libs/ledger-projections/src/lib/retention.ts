import { writeProjection, type ProjectionPlan } from '@waybill/streams';
import type { RedisClient } from '@waybill/platform';
import { isTerminalStatus } from '@waybill/shipment-domain';
import type { EventDoc, LedgerInput, LedgerTopic, OutcomeDoc, Position, ShipmentSummary } from './documents';
import { CorruptReadModelError } from './errors';
import { ledgerKeys, timeKey, type LedgerKeys } from './keys';
import { MemoryReads, type ReadModelStore } from './memory-reads';
import type { MemoryKeyspace, Write } from './writes';

/**
 * The retention window of the ledger read model. Redis keeps every shipment's current state for
 * ever, and the events, feed entries, trace entries and outcomes of a shipment only until it has
 * been closed (Delivered or Cancelled) for the window: then they are archived. An archived
 * shipment's summary records where each of its events sits on shipment.events, and its history,
 * its state as of any instant and its diffs are read from Kafka by those positions (see
 * `LedgerReader`). Feeds, traces and alerts list what Redis still holds.
 */

/** The window a ledger keeps closed shipments' events in Redis by default (LEDGER_RETENTION_DAYS). */
export const DEFAULT_RETENTION_DAYS = 30;
export const DAY_MS = 86_400_000;

/** What `archiveShipment` did. */
export type ArchiveOutcome = 'archived' | 'conflict' | 'not-archivable';

/** `<partition>:<offset>` of an event on shipment.events. */
export function positionText(position: Pick<Position, 'partition' | 'offset'>): string {
  return `${position.partition}:${position.offset}`;
}

export function parsePosition(text: string): { partition: number; offset: string } {
  const match = /^(\d+):(\d+)$/.exec(text);
  if (!match) throw new CorruptReadModelError(`archive position ${text}`);
  return { partition: Number(match[1]), offset: match[2] };
}

/** What archiving one shipment reads: its stored summary, and the documents Redis holds about it. */
export interface ArchiveInputs {
  shipmentId: string;
  summaryRaw: string;
  events: readonly EventDoc[];
  /** Members of the shipment's zsets, removed one by one (`del` would also drop what a concurrent write added to the outcomes index). */
  outcomeIds: readonly string[];
  outcomes: readonly OutcomeDoc[];
}

/**
 * The writes that archive a closed shipment: every event document and its feed and trace entries,
 * the per-shipment indexes, its outcomes and their trace and alert entries go; the summary keeps
 * the events' positions. Pure. Undefined when the shipment is not closed or has nothing to archive.
 * The plan expects the summary it read: a write of a new event in between makes it a conflict.
 */
export function planArchive(keys: LedgerKeys, inputs: ArchiveInputs): ProjectionPlan | undefined {
  const id = inputs.shipmentId;
  const summaryKey = keys.shipment(id);
  let summary: ShipmentSummary;
  try {
    summary = JSON.parse(inputs.summaryRaw) as ShipmentSummary;
  } catch (error) {
    throw new CorruptReadModelError(summaryKey, { cause: error });
  }
  if (!isTerminalStatus(summary.status)) return undefined;
  const expect: ProjectionPlan['expect'] = [[summaryKey, inputs.summaryRaw]];
  const events = [...inputs.events].filter((e) => e.version <= summary.version).sort((a, b) => a.version - b.version);
  const writes: Write[] = [{ op: 'zrem', key: keys.archivable, member: id }];
  if (events.length === 0 && inputs.outcomes.length === 0) return { expect, writes };
  for (const doc of events) {
    const member = `${timeKey(doc.timestamp)}|${doc.eventId}`;
    writes.push(
      { op: 'del', key: keys.event(doc.eventId) },
      { op: 'zrem', key: keys.feed, member },
      { op: 'zrem', key: keys.feedByType(doc.type), member },
      { op: 'zrem', key: keys.feedByUser(doc.initiatedBy), member },
      { op: 'zrem', key: keys.trace(doc.traceId), member: `${timeKey(doc.timestamp)}|event|${doc.eventId}` },
    );
  }
  for (const key of [keys.shipmentEvents(id), keys.shipmentTimeline(id), keys.shipmentRecorded(id), keys.shipmentLate(id), keys.shipmentSnapshots(id)]) {
    writes.push({ op: 'del', key });
  }
  for (const outcome of inputs.outcomes) {
    writes.push(
      { op: 'del', key: keys.outcome(outcome.eventId) },
      { op: 'zrem', key: keys.trace(outcome.traceId), member: `${timeKey(outcome.timestamp)}|outcome|${outcome.eventId}` },
    );
    if (outcome.alert) writes.push({ op: 'zrem', key: keys.alerts, member: `${timeKey(outcome.recordedAt ?? outcome.timestamp)}|${outcome.eventId}` });
  }
  for (const outcomeId of inputs.outcomeIds) writes.push({ op: 'zrem', key: keys.shipmentOutcomes(id), member: outcomeId });
  const archived = summary.archive ?? { version: 0, positions: [] };
  const fresh = events.filter((e) => e.version > archived.version);
  const next: ShipmentSummary = {
    ...summary,
    archive: { version: fresh.length ? fresh[fresh.length - 1].version : archived.version, positions: [...archived.positions, ...fresh.map((e) => positionText(e.position))] },
  };
  writes.push({ op: 'set', key: summaryKey, value: JSON.stringify(next) });
  return { expect, writes };
}

function parseAll<T>(keys: readonly string[], raw: ReadonlyArray<string | null>): T[] {
  return raw.flatMap((text, i) => {
    if (text === null) return [];
    try {
      return [JSON.parse(text) as T];
    } catch (error) {
      throw new CorruptReadModelError(keys[i], { cause: error });
    }
  });
}

/** Reads what `planArchive` needs from Redis or from memory; undefined when the shipment is unknown. */
export async function readArchiveInputs(store: ReadModelStore, keys: LedgerKeys, shipmentId: string): Promise<ArchiveInputs | undefined> {
  const [summaryRaw, eventIds, outcomeIds] = await Promise.all([
    store.get(keys.shipment(shipmentId)),
    store.zrange(keys.shipmentEvents(shipmentId), 0, '-1'),
    store.zrange(keys.shipmentOutcomes(shipmentId), 0, '-1'),
  ]);
  if (summaryRaw === null) return undefined;
  const eventKeys = eventIds.map((e) => keys.event(e));
  const outcomeKeys = outcomeIds.map((o) => keys.outcome(o));
  const [events, outcomes] = await Promise.all([
    eventKeys.length ? store.mget(...eventKeys) : Promise.resolve([]),
    outcomeKeys.length ? store.mget(...outcomeKeys) : Promise.resolve([]),
  ]);
  return { shipmentId, summaryRaw, events: parseAll<EventDoc>(eventKeys, events), outcomeIds, outcomes: parseAll<OutcomeDoc>(outcomeKeys, outcomes) };
}

/**
 * Archives one shipment of partition `partition` in Redis, in one atomic script on the partition's
 * hash slot; `conflict` when the projection wrote to it meanwhile (it is tried again on a later pass).
 */
export async function archiveShipment(redis: RedisClient, keyPrefix: string, partition: number, shipmentId: string): Promise<ArchiveOutcome> {
  const keys = ledgerKeys(keyPrefix, partition);
  const inputs = await readArchiveInputs(redis, keys, shipmentId);
  const plan = inputs && planArchive(keys, inputs);
  if (!plan) {
    // Not closed (or gone): it leaves the candidates, unless it changed meanwhile; it comes back when it closes again.
    const stale: ProjectionPlan = { expect: [[keys.shipment(shipmentId), inputs?.summaryRaw ?? null]], writes: [{ op: 'zrem', key: keys.archivable, member: shipmentId }] };
    return (await writeProjection(redis, stale)) === 'written' ? 'not-archivable' : 'conflict';
  }
  return (await writeProjection(redis, plan)) === 'written' ? 'archived' : 'conflict';
}

/** The same archive, applied to a keyspace folded in memory (`waybill verify` mirrors what the live ledger archived). */
export async function archiveInMemory(keyspace: MemoryKeyspace, keyPrefix: string, partition: number, shipmentId: string): Promise<ArchiveOutcome> {
  const keys = ledgerKeys(keyPrefix, partition);
  const inputs = await readArchiveInputs(new MemoryReads(keyspace), keys, shipmentId);
  const plan = inputs && planArchive(keys, inputs);
  if (!plan) return 'not-archivable';
  keyspace.apply(plan.writes);
  return 'archived';
}

/** Shipments archived per read of a partition's candidates. */
const CANDIDATES_PER_READ = 200;

/** What `archiveClosedBefore` did in one partition. */
export interface PartitionArchiveResult {
  archived: number;
  /** Candidates that changed while being archived: a later pass takes them. */
  conflicts: number;
  /** Candidates that were not closed any more (a correction reopened them): no longer candidates. */
  dropped: number;
}

/**
 * Archives every shipment of `partition` closed and last recorded before `cutoff` (epoch ms), the
 * oldest first, in chunks. What the ledger's pruner runs on each partition it owns, and what
 * `waybill rebuild ledger` runs after its replay, so both keep the same window.
 */
export async function archiveClosedBefore(
  redis: RedisClient,
  keyPrefix: string,
  partition: number,
  cutoff: number,
  options: { stopped?: () => boolean; onOutcome?: (outcome: ArchiveOutcome) => void } = {},
): Promise<PartitionArchiveResult> {
  const keys = ledgerKeys(keyPrefix, partition);
  const result: PartitionArchiveResult = { archived: 0, conflicts: 0, dropped: 0 };
  for (;;) {
    if (options.stopped?.()) return result;
    const ids = await archiveCandidates(redis, keys, cutoff, CANDIDATES_PER_READ);
    let conflicts = 0;
    for (const id of ids) {
      const outcome = await archiveShipment(redis, keyPrefix, partition, id);
      options.onOutcome?.(outcome);
      if (outcome === 'archived') result.archived += 1;
      else if (outcome === 'conflict') conflicts += 1;
      else result.dropped += 1;
    }
    result.conflicts += conflicts;
    // A shipment that keeps changing waits for the next pass rather than spinning this loop.
    if (ids.length < CANDIDATES_PER_READ || conflicts === ids.length) return result;
  }
}

/** Closed shipments of a partition last recorded before `cutoff` (epoch ms), oldest first, at most `limit`. */
export async function archiveCandidates(store: ReadModelStore, keys: LedgerKeys, cutoff: number, limit: number): Promise<string[]> {
  return store.zrangebyscore(keys.archivable, '-inf', `(${cutoff}`, 'LIMIT', 0, limit);
}

/** Reads archived records back from Kafka: those at the given positions of `topic` (shipment.events unless named), as projection inputs, in the order given; a position that holds none is left out. */
export interface ArchivedEventSource {
  load(positions: ReadonlyArray<{ partition: number; offset: string }>, topic?: LedgerTopic): Promise<LedgerInput[]>;
}
