import { InvalidQueryError } from './errors';
import { parseReadTokenParam } from './read-token';

describe('the readToken of a shipment read', () => {
  it('is optional', () => {
    expect(parseReadTokenParam([], 'SHP-1')).toBeUndefined();
  });

  it('names the shipment in the path and the version to wait for', () => {
    expect(parseReadTokenParam(['SHP-1@3'], 'SHP-1')).toEqual({ shipmentId: 'SHP-1', version: 3 });
  });

  it('refuses a token of another shipment, naming both', () => {
    expect(() => parseReadTokenParam(['SHP-2@3'], 'SHP-1')).toThrow(new InvalidQueryError('readToken', 'is for shipment SHP-2, not SHP-1: pass the token of a write to this shipment'));
  });

  it('refuses a malformed token and more than one, naming readToken', () => {
    for (const values of [['SHP-1'], ['SHP-1@x'], ['SHP-1@3', 'SHP-1@4'], ['SHP-1@3,SHP-1@4']]) {
      let thrown: unknown;
      try {
        parseReadTokenParam(values, 'SHP-1');
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(InvalidQueryError);
      expect((thrown as InvalidQueryError).param).toBe('readToken');
    }
  });
});
