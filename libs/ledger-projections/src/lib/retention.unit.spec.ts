import type { ShipmentEventRecord } from '@waybill/contracts';
import type { LedgerInput, ShipmentSummary } from './documents';
import { ArchivedHistoryUnavailableError } from './errors';
import { ledgerKeys } from './keys';
import { MemoryReads } from './memory-reads';
import { applyToMemory } from './project';
import { LedgerReader } from './reader';
import { archiveCandidates, archiveInMemory, positionText, type ArchivedEventSource } from './retention';
import { MemoryKeyspace } from './writes';
import { asEvents, asOutcome, asRecorded, design011, hm, lifecycle, rejectedOutcome, resetOffsets, stored, T0 } from './fixtures.spec';

const PREFIX = 't.ledger:';
const keys = ledgerKeys(PREFIX, 0);
const MINUTE = 60_000;

/** shipment.events as the archive reads it: the events projected so far, by position. */
class ProjectedTopic implements ArchivedEventSource {
  readonly byPosition = new Map<string, LedgerInput>();
  reads = 0;
  add(inputs: readonly LedgerInput[]): readonly LedgerInput[] {
    for (const input of inputs) if (input.position.topic === 'shipment.events') this.byPosition.set(positionText(input.position), input);
    return inputs;
  }
  async load(positions: ReadonlyArray<{ partition: number; offset: string }>): Promise<LedgerInput[]> {
    this.reads += 1;
    return positions.flatMap((p) => this.byPosition.get(positionText(p)) ?? []);
  }
}

const meta = (id: string, version: number, at: number, by = 'sam.supervisor') => ({
  eventId: `cmd-${id}-${version}:0`,
  aggregateId: id,
  aggregateType: 'Shipment',
  version,
  traceId: `trace-${id}-${version}`,
  causationId: `cmd-${id}-${version}`,
  initiatedBy: by,
  timestamp: at,
  observation: null,
});
const delivered = (id: string, version: number, at: number): ShipmentEventRecord => ({ type: 'ShipmentDelivered', value: { ...meta(id, version, at, 'dan.driver'), data: { receivedBy: 'Ada' } } }) as ShipmentEventRecord;
const cancelled = (id: string, version: number, at: number, fromStatus: string): ShipmentEventRecord => ({ type: 'ShipmentCancelled', value: { ...meta(id, version, at), data: { reason: 'customer', fromStatus } } }) as ShipmentEventRecord;
const corrected = (id: string, version: number, at: number, fromStatus: string, toStatus: string): ShipmentEventRecord =>
  ({ type: 'StatusCorrected', value: { ...meta(id, version, at), data: { fromStatus, toStatus, reason: 'wrong scan', correctedBy: 'sam.supervisor', customerAccountId: 'ACC-1', totalMinor: 7499, currency: 'EUR' } } }) as ShipmentEventRecord;

/** Every answer about one shipment's past that a reader gives, at instants around its history. */
async function pastOf(reader: LedgerReader, id: string, instants: readonly number[]) {
  const events = await reader.shipmentEvents(id);
  return {
    events,
    page: await reader.shipmentEvents(id, { afterVersion: 2, uptoVersion: 5 }),
    judged: [...(await reader.judgedAfter(events))],
    asOf: await Promise.all(instants.map((t) => reader.stateAt(id, t))),
    knownAt: await Promise.all(instants.map((t) => reader.stateAt(id, { knownAt: t }))),
    both: await Promise.all(instants.map((t) => reader.stateAt(id, { asOf: t, knownAt: t + 30 * MINUTE }))),
    diff: await reader.diff(id, instants[0], instants[instants.length - 1]),
  };
}

describe('the retention window', () => {
  let ks: MemoryKeyspace;
  let topic: ProjectedTopic;
  const project = (inputs: LedgerInput[]) => applyToMemory(ks, PREFIX, topic.add(inputs) as LedgerInput[], { snapshotEvery: 3 });
  const reader = () => new LedgerReader(new MemoryReads(ks), PREFIX, () => [0], { source: topic, snapshotEvery: 3 });
  const archive = (id: string) => archiveInMemory(ks, PREFIX, 0, id);
  const summaryOf = (id: string) => JSON.parse(stored(ks, keys.shipment(id))) as ShipmentSummary;

  beforeEach(() => {
    resetOffsets();
    ks = new MemoryKeyspace();
    topic = new ProjectedTopic();
  });

  it('lists a shipment as a candidate once it is closed, by when it was last recorded, and takes it off when a correction reopens it', async () => {
    project(asEvents(lifecycle('S1')));
    project(asEvents(lifecycle('S2')));
    expect(ks.zrange(keys.archivable)).toEqual([]);
    project([{ ...asEvents([delivered('S1', 9, T0 + 9 * MINUTE)])[0], recordedAt: T0 + 10 * MINUTE }]);
    expect(await archiveCandidates(new MemoryReads(ks), keys, T0 + 10 * MINUTE, 10)).toEqual([]);
    expect(await archiveCandidates(new MemoryReads(ks), keys, T0 + 10 * MINUTE + 1, 10)).toEqual(['S1']);
    project(asEvents([corrected('S1', 10, T0 + 11 * MINUTE, 'Delivered', 'Shipped')]));
    expect(ks.zrange(keys.archivable)).toEqual([]);
    expect(await archive('S2')).toBe('not-archivable');
  });

  it('answers history, as-of on both axes, diffs and judged-after the same from Kafka as from Redis, late facts and a violation included', async () => {
    const history = design011('D1');
    project(asRecorded(history));
    project(asRecorded([{ recordedAt: hm(15, 10), record: cancelled('D1', 5, hm(15, 9), 'Picking') }]));
    project([asOutcome(rejectedOutcome('D1', hm(15, 20), true, 'trace-D1'))]);
    const instants = [hm(13, 59), hm(14, 2), hm(14, 7), hm(14, 12), hm(14, 40), hm(15, 1), hm(15, 2), hm(15, 30)];
    const before = await pastOf(reader(), 'D1', instants);
    expect(before.judged.some(([, judged]) => judged !== null)).toBe(true);
    expect(before.asOf.map((s) => s.kind)).toContain('state');

    expect(await archive('D1')).toBe('archived');
    const after = reader();
    expect(await pastOf(after, 'D1', instants)).toEqual(before);
    expect(summaryOf('D1').archive).toEqual({ version: 5, positions: ['0:0', '0:1', '0:2', '0:3', '0:4'] });
    expect(topic.reads).toBe(1);
  });

  it('leaves the current state and the status lists, and takes the events, feed and trace entries, outcomes and alerts out of Redis', async () => {
    project(asEvents([...lifecycle('S1'), delivered('S1', 9, T0 + 9 * MINUTE)]));
    project([asOutcome(rejectedOutcome('S1', T0 + 20 * MINUTE, true, 'trace-S1'))]);
    project(asEvents(lifecycle('S2')));
    const memory = new MemoryReads(ks);
    const keysBefore = ks.size;
    const s2Feed = ks.zrange(keys.feed).filter(([m]) => m.includes('cmd-S2-'));
    const current = summaryOf('S1');

    expect(await archive('S1')).toBe('archived');
    const { archive: archived, ...rest } = summaryOf('S1');
    expect(rest).toEqual(current);
    expect(archived?.positions).toHaveLength(9);
    expect(ks.zrange(keys.feed)).toEqual(s2Feed);
    for (const [k] of Object.entries(ks.dump())) expect(k).not.toMatch(/event:cmd-S1-|shipment:S1:|outcome:cmd-S1-|trace:trace-S1$/);
    expect(ks.zrange(keys.alerts)).toEqual([]);
    expect(ks.zrange(keys.status('Delivered'))).toEqual([['S1', 0]]);
    expect(ks.hgetall(keys.statusCounts)).toMatchObject({ Delivered: '1', Shipped: '1' });
    expect(ks.zrange(keys.archivable)).toEqual([]);
    expect(ks.size).toBeLessThan(keysBefore - 9);
    expect(await memory.zrange(keys.trace('trace-S2'), 0, '-1')).toHaveLength(8);
    expect(await reader().event('cmd-S1-3:0')).toBeUndefined();
  });

  it('keeps a correction after the archive in Redis, reads the whole history across both, and archives again without losing a position', async () => {
    project(asEvents([...lifecycle('S1'), delivered('S1', 9, T0 + 9 * MINUTE)]));
    expect(await archive('S1')).toBe('archived');
    project(asEvents([corrected('S1', 10, T0 + 30 * MINUTE, 'Delivered', 'Shipped'), delivered('S1', 11, T0 + 31 * MINUTE)]));
    const live = summaryOf('S1');
    expect(live).toMatchObject({ version: 11, status: 'Delivered', archive: { version: 9 } });
    const whole = (await reader().shipmentEvents('S1')).map((e) => e.version);
    expect(whole).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(await reader().stateAt('S1', T0 + 30 * MINUTE + 1)).toMatchObject({ kind: 'state', version: 10, state: { status: 'Shipped' } });

    expect(await archive('S1')).toBe('archived');
    expect(summaryOf('S1').archive).toEqual({ version: 11, positions: Array.from({ length: 11 }, (_, i) => `0:${i}`) });
    expect((await reader().shipmentEvents('S1')).map((e) => e.version)).toEqual(whole);
  });

  it('says the history is unavailable, never a shorter one, when Kafka no longer holds an archived event', async () => {
    project(asEvents([...lifecycle('S1'), delivered('S1', 9, T0 + 9 * MINUTE)]));
    expect(await archive('S1')).toBe('archived');
    topic.byPosition.delete('0:4');
    await expect(reader().shipmentEvents('S1')).rejects.toThrow(ArchivedHistoryUnavailableError);
    await expect(new LedgerReader(new MemoryReads(ks), PREFIX, () => [0]).stateAt('S1', T0)).rejects.toThrow(/no Kafka source/);
    expect(await reader().shipment('S1')).toMatchObject({ status: 'Delivered', version: 9 });
  });
});
