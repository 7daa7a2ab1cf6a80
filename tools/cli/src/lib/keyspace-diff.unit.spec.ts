import type { KeyValue } from '@waybill/ledger-projections';
import { differencesTable, diffKeyspaces } from './keyspace-diff';

const str = (value: string): KeyValue => ({ type: 'string', value });

describe('diffKeyspaces', () => {
  it('finds nothing between equal dumps', () => {
    const dump = { a: str('1'), h: { type: 'hash', value: { x: '1' } } as KeyValue, z: { type: 'zset', value: [['m', 1]] } as KeyValue };
    expect(diffKeyspaces(dump, structuredClone(dump))).toEqual([]);
  });

  it('names missing, extra and different keys in key order', () => {
    const rebuilt = { 'p:a': str('{"status":"Packed"}'), 'p:b': str('x'), 'p:h': { type: 'hash', value: { f: '1', g: '2' } } as KeyValue };
    const live = { 'p:a': str('{"status":"Picked"}'), 'p:c': str('y'), 'p:h': { type: 'hash', value: { f: '1', g: '3' } } as KeyValue };
    const diff = diffKeyspaces(rebuilt, live);
    expect(diff.map((d) => [d.kind, d.key])).toEqual([
      ['different', 'p:a'],
      ['missing', 'p:b'],
      ['extra', 'p:c'],
      ['different', 'p:h'],
    ]);
    expect(diff[0].detail).toContain('differs at char 12');
    expect(diff[3].detail).toBe('field(s) rebuilt → live: g: 2 → 3');
  });

  it('describes zset and type differences', () => {
    const rebuilt = { z: { type: 'zset', value: [['a', 1], ['b', 2]] } as KeyValue, t: str('1') };
    const live = { z: { type: 'zset', value: [['a', 5], ['c', 2]] } as KeyValue, t: { type: 'hash', value: {} } as KeyValue };
    const [t, z] = diffKeyspaces(rebuilt, live);
    expect(t.detail).toBe('type: rebuilt string, live hash');
    expect(z.detail).toBe('1 member(s) missing live, e.g. b; 1 extra member(s) live, e.g. c; 1 score(s) differ, e.g. a: 1 → 5');
  });

  it('renders a table with counts per kind', () => {
    const text = differencesTable(diffKeyspaces({ a: str('1') }, { b: str('2') }));
    expect(text).toContain('missing');
    expect(text).toContain('1 missing, 1 extra, 0 different');
  });
});
