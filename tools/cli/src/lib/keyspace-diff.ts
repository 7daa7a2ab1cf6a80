import Table from 'cli-table3';
import type { KeyValue } from '@waybill/ledger-projections';

/**
 * One key that differs between the rebuilt (expected) and the live (actual) keyspace:
 * `missing` = only in the rebuild, `extra` = only live, `different` = both, other value.
 */
export interface KeyDifference {
  key: string;
  kind: 'missing' | 'extra' | 'different';
  detail: string;
}

const MAX_SHOWN = 60;

function short(text: string, max = MAX_SHOWN): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function describe(value: KeyValue): string {
  switch (value.type) {
    case 'string':
      return `string ${short(value.value, 40)}`;
    case 'hash':
      return `hash of ${Object.keys(value.value).length} field(s)`;
    case 'zset':
      return `zset of ${value.value.length} member(s)`;
  }
}

/** Where two strings part ways, e.g. `at char 42: …"status":"Packed"… vs …"status":"Picked"…`. */
function stringDifference(expected: string, actual: string): string {
  let i = 0;
  while (i < expected.length && i < actual.length && expected[i] === actual[i]) i += 1;
  const around = (s: string) => JSON.stringify(s.slice(Math.max(0, i - 12), i + 18));
  return `differs at char ${i}: rebuilt ${around(expected)}, live ${around(actual)}`;
}

function hashDifference(expected: Record<string, string>, actual: Record<string, string>): string {
  const fields = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  const parts = fields
    .filter((f) => expected[f] !== actual[f])
    .map((f) => `${f}: ${expected[f] === undefined ? '(none)' : short(expected[f], 20)} → ${actual[f] === undefined ? '(none)' : short(actual[f], 20)}`);
  return `field(s) rebuilt → live: ${parts.slice(0, 4).join('; ')}${parts.length > 4 ? `; and ${parts.length - 4} more` : ''}`;
}

function zsetDifference(expected: Array<[string, number]>, actual: Array<[string, number]>): string {
  const e = new Map(expected);
  const a = new Map(actual);
  const onlyRebuilt = [...e.keys()].filter((m) => !a.has(m));
  const onlyLive = [...a.keys()].filter((m) => !e.has(m));
  const rescored = [...e.keys()].filter((m) => a.has(m) && a.get(m) !== e.get(m));
  const parts: string[] = [];
  if (onlyRebuilt.length) parts.push(`${onlyRebuilt.length} member(s) missing live, e.g. ${short(onlyRebuilt[0], 40)}`);
  if (onlyLive.length) parts.push(`${onlyLive.length} extra member(s) live, e.g. ${short(onlyLive[0], 40)}`);
  if (rescored.length) parts.push(`${rescored.length} score(s) differ, e.g. ${short(rescored[0], 30)}: ${e.get(rescored[0])} → ${a.get(rescored[0])}`);
  return parts.join('; ') || 'same members and scores, other order';
}

function valueDifference(expected: KeyValue, actual: KeyValue): string | undefined {
  if (expected.type !== actual.type) return `type: rebuilt ${expected.type}, live ${actual.type}`;
  if (expected.type === 'string' && actual.type === 'string') return expected.value === actual.value ? undefined : stringDifference(expected.value, actual.value);
  if (expected.type === 'hash' && actual.type === 'hash') {
    return JSON.stringify(expected.value) === JSON.stringify(actual.value) ? undefined : hashDifference(expected.value, actual.value);
  }
  if (expected.type === 'zset' && actual.type === 'zset') {
    return JSON.stringify(expected.value) === JSON.stringify(actual.value) ? undefined : zsetDifference(expected.value, actual.value);
  }
  return undefined;
}

/**
 * Compares two canonical dumps (`MemoryKeyspace.dump()` / `dumpKeyspace`) key by key. Pure; the
 * result is sorted by key. Hash fields and zset members are compared in their canonical order, so
 * equal read models give no difference whatever order they were written in.
 */
export function diffKeyspaces(expected: Record<string, KeyValue>, actual: Record<string, KeyValue>): KeyDifference[] {
  const keys = [...new Set([...Object.keys(expected), ...Object.keys(actual)])].sort();
  const out: KeyDifference[] = [];
  for (const key of keys) {
    const e = expected[key];
    const a = actual[key];
    if (e && !a) out.push({ key, kind: 'missing', detail: `not in the live read model (rebuilt: ${describe(e)})` });
    else if (!e && a) out.push({ key, kind: 'extra', detail: `only in the live read model (${describe(a)})` });
    else if (e && a) {
      const detail = valueDifference(e, a);
      if (detail) out.push({ key, kind: 'different', detail });
    }
  }
  return out;
}

/** The differences as a table, at most `limit` rows, with a count of each kind. */
export function differencesTable(differences: readonly KeyDifference[], limit = 50): string {
  const table = new Table({ head: ['difference', 'key', 'detail'], style: { head: [], border: [] }, wordWrap: true, colWidths: [12, 48, 70] });
  for (const d of differences.slice(0, limit)) table.push([d.kind, d.key, d.detail]);
  const count = (kind: KeyDifference['kind']) => differences.filter((d) => d.kind === kind).length;
  const more = differences.length > limit ? `\n… and ${differences.length - limit} more (--output json lists them all)` : '';
  return `${table.toString()}${more}\n${count('missing')} missing, ${count('extra')} extra, ${count('different')} different\n`;
}
