import avro from 'avsc';
import { checkCompatibility, parseCompatibilityLevel, type CompatibilityLevel } from './compatibility';
import { InvalidCompatibilityLevelError } from './errors';

const record = (fields: object[]) => avro.Type.forSchema({ type: 'record', name: 'Parcel', namespace: 'waybill', fields } as avro.Schema);
const id = { name: 'id', type: 'string' };
const v1 = record([id]);
const withOptionalNote = record([id, { name: 'note', type: ['null', 'string'], default: null }]);
const withRequiredWeight = record([id, { name: 'weight', type: 'int' }]);
const withoutId = record([{ name: 'note', type: ['null', 'string'], default: null }]);

const check = (candidate: avro.Type, previous: avro.Type[], level: CompatibilityLevel) =>
  checkCompatibility(
    candidate,
    previous.map((type, i) => ({ version: i + 1, type })),
    level,
  );

describe('compatibility by schema resolution', () => {
  describe('BACKWARD', () => {
    it('accepts an added optional field with a default', () => expect(check(withOptionalNote, [v1], 'BACKWARD').compatible).toBe(true));
    it('refuses an added field without a default and says why', () => {
      const result = check(withRequiredWeight, [v1], 'BACKWARD');
      expect(result.compatible).toBe(false);
      expect(result.messages.join()).toMatch(/cannot read data written with version 1.*weight/);
    });
    it('accepts removing a field (the new reader ignores it)', () => expect(check(withoutId, [v1], 'BACKWARD').compatible).toBe(true));
  });

  describe('FORWARD', () => {
    it('accepts an added required field (old readers skip it)', () => expect(check(withRequiredWeight, [v1], 'FORWARD').compatible).toBe(true));
    it('refuses removing a field old readers need', () => {
      const result = check(withoutId, [v1], 'FORWARD');
      expect(result.compatible).toBe(false);
      expect(result.messages.join()).toMatch(/version 1 cannot read data written with the new schema/);
    });
  });

  describe('FULL', () => {
    it('accepts an optional field with a default', () => expect(check(withOptionalNote, [v1], 'FULL').compatible).toBe(true));
    it('refuses what only one direction allows', () => {
      expect(check(withRequiredWeight, [v1], 'FULL').compatible).toBe(false);
      expect(check(withoutId, [v1], 'FULL').compatible).toBe(false);
    });
  });

  describe('NONE', () => {
    it('accepts anything, even another type', () => expect(check(avro.Type.forSchema('string'), [v1], 'NONE')).toEqual({ compatible: true, messages: [] }));
  });

  describe('transitive levels', () => {
    // v3 requires `count`: v2 wrote it, v1 never did, so v3 reads v2's data but not v1's.
    const first = record([{ name: 'kind', type: 'string' }]);
    const second = record([{ name: 'kind', type: 'string', default: 'box' }, { name: 'count', type: 'int', default: 1 }]);
    const third = record([{ name: 'count', type: 'int' }]);

    it('non-transitive BACKWARD only looks at the latest version', () =>
      expect(check(third, [first, second], 'BACKWARD').compatible).toBe(true));
    it('BACKWARD_TRANSITIVE looks at every version', () => {
      const result = check(third, [first, second], 'BACKWARD_TRANSITIVE');
      expect(result.compatible).toBe(false);
      expect(result.messages).toHaveLength(1);
      expect(result.messages[0]).toMatch(/version 1/);
    });
    it('FORWARD_TRANSITIVE and FULL_TRANSITIVE check all versions in their direction', () => {
      expect(check(first, [third, second], 'FORWARD').compatible).toBe(true);
      expect(check(first, [third, second], 'FORWARD_TRANSITIVE').compatible).toBe(false);
      expect(check(third, [first, second], 'FULL_TRANSITIVE').compatible).toBe(false);
    });
  });

  it('accepts anything when there is no earlier version', () => expect(check(v1, [], 'FULL_TRANSITIVE').compatible).toBe(true));

  it('parses levels in any case and refuses others with 42203', () => {
    expect(parseCompatibilityLevel('full_transitive')).toBe('FULL_TRANSITIVE');
    expect(() => parseCompatibilityLevel('SIDEWAYS')).toThrow(InvalidCompatibilityLevelError);
    expect(() => parseCompatibilityLevel(undefined)).toThrow(expect.objectContaining({ errorCode: 42203 }));
  });
});
