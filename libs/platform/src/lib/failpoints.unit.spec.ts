import { parseFailpoints } from './failpoints';

describe('parseFailpoints', () => {
  it('arms each named point for its hit', () => {
    const armed = parseFailpoints('streams.before-commit=kill@3, streams.after-commit=kill@1');
    expect([...armed.entries()]).toEqual([
      ['streams.before-commit', { killAt: 3, reached: 0 }],
      ['streams.after-commit', { killAt: 1, reached: 0 }],
    ]);
  });

  it('arms nothing when unset or empty', () => {
    expect(parseFailpoints(undefined).size).toBe(0);
    expect(parseFailpoints(' ').size).toBe(0);
  });

  it.each(['streams.before-commit', 'streams.before-commit=kill', 'streams.before-commit=kill@0', 'x=crash@1'])('refuses %s instead of silently arming nothing', (spec) => {
    expect(() => parseFailpoints(spec)).toThrow(/WAYBILL_FAILPOINTS/);
  });
});
