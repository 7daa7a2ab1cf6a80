import type { RegistryRecord, SchemaValue } from './records';
import { decodeRecord, encodeKey, encodeSchemaValue } from './records';
import { RegistryState } from './state';

const X = '{"type":"record","name":"X","fields":[]}';
const Y = '{"type":"record","name":"Y","fields":[]}';
const put = (subject: string, version: number, id: number, schema: string, deleted = false): RegistryRecord => ({
  key: { keytype: 'SCHEMA', subject, version },
  value: { subject, version, id, schema, deleted },
});
const tombstone = (subject: string, version: number): RegistryRecord => ({ key: { keytype: 'SCHEMA', subject, version }, value: null });

function fold(records: RegistryRecord[]) {
  const state = new RegistryState();
  const outcomes = records.map((r) => state.apply(r).status);
  return { state, outcomes };
}

describe('the registry fold', () => {
  it('lets the first claim of an id win and rejects a different schema with the same id', () => {
    const { state, outcomes } = fold([put('a', 1, 1, X), put('b', 1, 1, Y)]);
    expect(outcomes).toEqual(['applied', 'rejected']);
    expect(state.schemaById(1)?.schema).toBe(X);
    expect(state.versions('b')).toEqual([]);
  });

  it('rejects a second schema for a version already taken, and a second id for a known schema', () => {
    const { state, outcomes } = fold([put('a', 1, 1, X), put('a', 1, 2, Y), put('b', 1, 3, X)]);
    expect(outcomes).toEqual(['applied', 'rejected', 'rejected']);
    expect(state.version('a', 1)?.id).toBe(1);
    expect(state.idOf(JSON.stringify({ fields: [], name: 'X', type: 'record' }))).toBe(1);
  });

  it('shares one id between subjects and treats whitespace-only differences as the same schema', () => {
    const { state, outcomes } = fold([put('a', 1, 1, X), put('b', 1, 1, `  ${X.replace(/,/g, ' , ')}\n`)]);
    expect(outcomes).toEqual(['applied', 'applied']);
    expect(state.usagesOf(1)).toEqual([
      { subject: 'a', version: 1 },
      { subject: 'b', version: 1 },
    ]);
  });

  it('soft-deletes by flag and frees an id only when its last version is tombstoned', () => {
    const { state } = fold([put('a', 1, 1, X), put('b', 1, 1, X), put('a', 1, 1, X, true), tombstone('a', 1)]);
    expect(state.schemaById(1)?.schema).toBe(X);
    const after = fold([put('a', 1, 1, X), put('a', 1, 1, X, true), tombstone('a', 1)]).state;
    expect(after.schemaById(1)).toBeUndefined();
    expect(after.nextId()).toBe(2);
  });

  it('reaches the same state from the same log, whatever process reads it', () => {
    const log = [put('a', 1, 1, X), put('b', 1, 1, Y), put('b', 1, 2, Y), put('a', 2, 2, Y)];
    const first = fold(log).state;
    const second = fold(log).state;
    expect(second.versions('a')).toEqual(first.versions('a'));
    expect(second.versions('b')).toEqual(first.versions('b'));
    expect(first.versions('b').map((v) => v.id)).toEqual([2]);
  });
});

describe('record encoding', () => {
  it('writes keys with Confluent field order so compaction sees identical bytes', () => {
    expect(encodeKey({ keytype: 'SCHEMA', subject: 's', version: 3 })).toBe('{"keytype":"SCHEMA","subject":"s","version":3,"magic":1}');
    expect(encodeKey({ keytype: 'CONFIG', subject: null })).toBe('{"keytype":"CONFIG","subject":null,"magic":0}');
  });

  it('round-trips a schema value and ignores foreign or malformed records', () => {
    const value: SchemaValue = { subject: 's', version: 1, id: 4, schema: X, deleted: false };
    const key = Buffer.from(encodeKey({ keytype: 'SCHEMA', subject: 's', version: 1 }));
    expect(decodeRecord(key, Buffer.from(encodeSchemaValue(value)))).toEqual({ key: { keytype: 'SCHEMA', subject: 's', version: 1 }, value });
    expect(decodeRecord(Buffer.from('{"keytype":"MODE","subject":null,"magic":0}'), Buffer.from('{"mode":"READWRITE"}'))).toBeUndefined();
    expect(decodeRecord(key, Buffer.from('not json'))).toBeUndefined();
  });
});
