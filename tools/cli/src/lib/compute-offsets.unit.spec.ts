import { NoCommittedOffsetError } from '../errors';
import { clampToLog, computeNewOffset, computeNewOffsets, type PartitionOffsets } from './compute-offsets';

// One partition holding offsets 10..49 (log start 10 after retention, log end 50), committed at 30.
const p = (over: Partial<PartitionOffsets> = {}): PartitionOffsets => ({
  topic: 'shipment.events',
  partition: 0,
  current: 30,
  earliest: 10,
  latest: 50,
  ...over,
});

describe('clampToLog (Kafka checkOffsetsRange)', () => {
  it('keeps an offset inside [earliest, latest], both ends included', () => {
    expect(clampToLog(10, 10, 50)).toEqual({ offset: 10 });
    expect(clampToLog(33, 10, 50)).toEqual({ offset: 33 });
    expect(clampToLog(50, 10, 50)).toEqual({ offset: 50 });
  });
  it('moves an offset past the end to the end and one before the start to the start', () => {
    expect(clampToLog(51, 10, 50)).toEqual({ offset: 50, note: 'clamped-to-latest' });
    expect(clampToLog(9, 10, 50)).toEqual({ offset: 10, note: 'clamped-to-earliest' });
    expect(clampToLog(-5, 0, 0)).toEqual({ offset: 0, note: 'clamped-to-earliest' });
  });
});

describe('computeNewOffset', () => {
  it('to earliest is the log start, whatever was committed', () => {
    expect(computeNewOffset(p(), { kind: 'earliest' })).toEqual({ offset: 10 });
    expect(computeNewOffset(p({ current: null }), { kind: 'earliest' })).toEqual({ offset: 10 });
  });

  it('to latest is the log end', () => {
    expect(computeNewOffset(p(), { kind: 'latest' })).toEqual({ offset: 50 });
    expect(computeNewOffset(p({ current: null, earliest: 0, latest: 0 }), { kind: 'latest' })).toEqual({ offset: 0 });
  });

  it('to offset uses the offset when inside the log and clamps it otherwise', () => {
    expect(computeNewOffset(p(), { kind: 'to-offset', offset: 42 })).toEqual({ offset: 42 });
    expect(computeNewOffset(p(), { kind: 'to-offset', offset: 1000 })).toEqual({ offset: 50, note: 'clamped-to-latest' });
    expect(computeNewOffset(p(), { kind: 'to-offset', offset: 0 })).toEqual({ offset: 10, note: 'clamped-to-earliest' });
    expect(computeNewOffset(p({ current: null }), { kind: 'to-offset', offset: 20 })).toEqual({ offset: 20 });
  });

  it('shift by adds to the committed offset and clamps the result', () => {
    expect(computeNewOffset(p(), { kind: 'shift-by', shift: -5 })).toEqual({ offset: 25 });
    expect(computeNewOffset(p(), { kind: 'shift-by', shift: 7 })).toEqual({ offset: 37 });
    expect(computeNewOffset(p(), { kind: 'shift-by', shift: 0 })).toEqual({ offset: 30 });
    expect(computeNewOffset(p(), { kind: 'shift-by', shift: -100 })).toEqual({ offset: 10, note: 'clamped-to-earliest' });
    expect(computeNewOffset(p(), { kind: 'shift-by', shift: 100 })).toEqual({ offset: 50, note: 'clamped-to-latest' });
  });

  it('shift by refuses a partition without a committed offset, as Kafka does', () => {
    expect(() => computeNewOffset(p({ current: null }), { kind: 'shift-by', shift: -1 })).toThrow(NoCommittedOffsetError);
  });

  it.each(['datetime', 'duration'] as const)('by %s takes the ListOffsets-by-timestamp answer', (kind) => {
    const spec = kind === 'datetime' ? { kind, timestamp: 1_000 } : { kind, durationMs: 3_600_000, duration: 'PT1H' };
    expect(computeNewOffset(p({ atTimestamp: 17 }), spec)).toEqual({ offset: 17 });
    expect(computeNewOffset(p({ atTimestamp: 10 }), spec)).toEqual({ offset: 10 });
  });

  it.each(['datetime', 'duration'] as const)('by %s falls back to the log end when no record is that new', (kind) => {
    const spec = kind === 'datetime' ? { kind, timestamp: 1_000 } : { kind, durationMs: 60_000, duration: 'PT1M' };
    expect(computeNewOffset(p({ atTimestamp: null }), spec)).toEqual({ offset: 50, note: 'no-record-that-new' });
    expect(computeNewOffset(p({ atTimestamp: null, current: null, latest: 0, earliest: 0 }), spec)).toEqual({ offset: 0, note: 'no-record-that-new' });
  });
});

describe('computeNewOffsets', () => {
  const partitions: PartitionOffsets[] = [
    p({ topic: 'b', partition: 1, current: 5, earliest: 0, latest: 8 }),
    p({ topic: 'a', partition: 2, current: null, earliest: 3, latest: 9 }),
    p({ topic: 'b', partition: 0, current: 2, earliest: 0, latest: 4 }),
  ];

  it('sorts by topic then partition and reports the lag before and after', () => {
    expect(computeNewOffsets(partitions, { kind: 'earliest' })).toEqual([
      { topic: 'a', partition: 2, current: null, earliest: 3, latest: 9, newOffset: 3, lagBefore: null, lagAfter: 6 },
      { topic: 'b', partition: 0, current: 2, earliest: 0, latest: 4, newOffset: 0, lagBefore: 2, lagAfter: 4 },
      { topic: 'b', partition: 1, current: 5, earliest: 0, latest: 8, newOffset: 0, lagBefore: 3, lagAfter: 8 },
    ]);
  });

  it('refuses a shift naming every partition without a committed offset, before computing anything', () => {
    const shift = () => computeNewOffsets([...partitions, p({ topic: 'c', current: null })], { kind: 'shift-by', shift: -1 });
    expect(shift).toThrow(NoCommittedOffsetError);
    expect(shift).toThrow(/a:2, c:0/);
  });

  it('shifts when every selected partition has a committed offset', () => {
    const committed = partitions.filter((x) => x.current !== null);
    expect(computeNewOffsets(committed, { kind: 'shift-by', shift: 3 }).map((x) => [x.newOffset, x.note])).toEqual([
      [4, 'clamped-to-latest'],
      [8, undefined],
    ]);
  });
});
