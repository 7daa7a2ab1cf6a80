import { parseInstant } from './instant';

describe('parseInstant', () => {
  it('reads instants with a zone', () => {
    expect(parseInstant('2026-02-28T12:00:00Z')).toBe(Date.UTC(2026, 1, 28, 12));
    expect(parseInstant('2026-02-28T13:00:00.250+01:00')).toBe(Date.UTC(2026, 1, 28, 12, 0, 0, 250));
    expect(parseInstant('2024-02-29T00:00Z')).toBe(Date.UTC(2024, 1, 29));
  });

  it.each(['2026-02-30T00:00:00Z', '2025-02-29T00:00:00Z', '2026-04-31T00:00:00Z', '2026-13-01T00:00:00Z', '2026-00-10T00:00:00Z', '2026-01-00T00:00:00Z', '2026-01-01T24:00:00Z', '2026-01-01T23:60:00Z', '2026-01-01T23:59:60Z', '2026-01-01T00:00:00+24:00'])(
    'refuses %s, a calendar that does not exist, instead of rolling it over',
    (text) => expect(parseInstant(text)).toBeUndefined(),
  );

  it.each(['2026-01-01T00:00:00', '2026-01-01', '1', 'March 7', ''])('refuses %j, which names no zone or no time', (text) => expect(parseInstant(text)).toBeUndefined());
});
