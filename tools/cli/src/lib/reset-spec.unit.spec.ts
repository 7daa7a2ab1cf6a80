import { UsageError } from '../errors';
import { mergeTopicSelections, parseInteger, parseIsoDatetime, parseIsoDuration, parseTopicSelection } from './reset-spec';

describe('parseIsoDuration (java.time.Duration syntax, as Kafka --by-duration)', () => {
  it.each([
    ['PT1H', 3_600_000],
    ['PT30M', 1_800_000],
    ['PT45S', 45_000],
    ['PT0.5S', 500],
    ['PT1.25S', 1_250],
    ['P1D', 86_400_000],
    ['P1DT2H', 93_600_000],
    ['P1DT2H30M15S', 95_415_000],
    ['pt2h', 7_200_000],
  ])('%s is %d ms', (text, ms) => {
    expect(parseIsoDuration(text)).toBe(ms);
  });

  it.each(['', 'P', 'PT', 'P1DT', '1H', 'PT1X', 'PTH', 'P1H', 'one hour'])('refuses %p, naming the argument', (text) => {
    expect(() => parseIsoDuration(text)).toThrow(UsageError);
    expect(() => parseIsoDuration(text)).toThrow(/^--reset-by-duration: /);
  });

  it('explains why months, years and weeks are refused', () => {
    expect(() => parseIsoDuration('P1M')).toThrow(/no fixed length/);
    expect(() => parseIsoDuration('P1Y')).toThrow(/no fixed length/);
    expect(() => parseIsoDuration('P2W')).toThrow(/no fixed length/);
  });

  it('refuses negative durations', () => {
    expect(() => parseIsoDuration('-PT1H')).toThrow(/negative/);
  });
});

describe('parseIsoDatetime', () => {
  it.each([
    ['2026-11-24T10:00:00.000Z', Date.UTC(2026, 10, 24, 10)],
    ['2026-11-24T10:00:00Z', Date.UTC(2026, 10, 24, 10)],
    ['2026-11-24T11:00:00.000+01:00', Date.UTC(2026, 10, 24, 10)],
    ['2026-11-24T05:30:00-04:30', Date.UTC(2026, 10, 24, 10)],
    ['2026-11-24T11:00:00+0100', Date.UTC(2026, 10, 24, 10)],
    ['2026-11-24T11:00:00+01', Date.UTC(2026, 10, 24, 10)],
    ['2026-11-24T10:00', Date.UTC(2026, 10, 24, 10)],
    ['2026-11-24T10:00:00.123', Date.UTC(2026, 10, 24, 10, 0, 0, 123)],
    ['2026-11-24T10:00:00.1239', Date.UTC(2026, 10, 24, 10, 0, 0, 123)],
    ['2028-02-29T00:00:00Z', Date.UTC(2028, 1, 29)],
  ])('%s', (text, ms) => {
    expect(parseIsoDatetime(text)).toBe(ms);
  });

  it('reads a time without a zone as UTC, as Kafka does', () => {
    expect(parseIsoDatetime('2026-11-24T10:00:00.000')).toBe(parseIsoDatetime('2026-11-24T10:00:00.000Z'));
  });

  it.each(['2026-11-24', '2026-11-24 10:00:00', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-11-24T25:00:00Z', '2026-11-24T10:00:00+25:00', 'yesterday'])(
    'refuses %p, naming the argument',
    (text) => {
      expect(() => parseIsoDatetime(text)).toThrow(UsageError);
      expect(() => parseIsoDatetime(text)).toThrow(/^--reset-to-datetime: /);
    },
  );
});

describe('parseInteger', () => {
  it('reads shifts with a sign and offsets without', () => {
    expect(parseInteger('--reset-shift-by', '-100', { allowNegative: true })).toBe(-100);
    expect(parseInteger('--reset-shift-by', '+7', { allowNegative: true })).toBe(7);
    expect(parseInteger('--reset-shift-by', '-0', { allowNegative: true })).toBe(0);
    expect(parseInteger('--reset-to-offset', '1500', { allowNegative: false })).toBe(1500);
  });
  it.each([
    ['--reset-to-offset', '-1', false],
    ['--reset-to-offset', '1.5', false],
    ['--reset-shift-by', 'ten', true],
    ['--reset-shift-by', '', true],
    ['--reset-shift-by', '99999999999999999999', true],
  ])('%s refuses %p', (arg, text, allowNegative) => {
    expect(() => parseInteger(arg, text, { allowNegative })).toThrow(new RegExp(`^${arg}: `));
  });
});

describe('topic selections', () => {
  it('parses a topic and a topic with partitions', () => {
    expect(parseTopicSelection('shipment.events')).toEqual({ topic: 'shipment.events' });
    expect(parseTopicSelection('shipment.events:2,0,2')).toEqual({ topic: 'shipment.events', partitions: [0, 2] });
  });
  it.each(['', 'a:b:c', 'bad topic', 't:', 't:x', 't:-1', 't:1,,2'])('refuses %p', (text) => {
    expect(() => parseTopicSelection(text)).toThrow(/^--topic: /);
  });
  it('merges repeated --topic arguments; a bare topic means all its partitions', () => {
    expect(mergeTopicSelections([{ topic: 't', partitions: [2] }, { topic: 'u' }, { topic: 't', partitions: [0, 2] }])).toEqual([
      { topic: 't', partitions: [0, 2] },
      { topic: 'u' },
    ]);
    expect(mergeTopicSelections([{ topic: 't', partitions: [2] }, { topic: 't' }])).toEqual([{ topic: 't' }]);
  });
});
