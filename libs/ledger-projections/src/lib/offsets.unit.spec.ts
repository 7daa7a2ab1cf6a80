import { InvalidQueryError } from './errors';
import { groupOffsets, isReflected, parseWaitFor } from './offsets';

describe('waitFor positions', () => {
  it('accepts logical and physical topics, repeated and comma-separated', () => {
    expect(parseWaitFor(['shipment.outcomes:3:42,t1.shipment.events:0:7', 'accounting.transactions:1:0'], 't1.')).toEqual([
      { topic: 'shipment.outcomes', partition: 3, offset: 42n },
      { topic: 'shipment.events', partition: 0, offset: 7n },
      { topic: 'accounting.transactions', partition: 1, offset: 0n },
    ]);
  });

  it('refuses other topics and malformed positions, naming waitFor', () => {
    expect(() => parseWaitFor(['shipment.commands:0:1'])).toThrow(InvalidQueryError);
    expect(() => parseWaitFor(['shipment.outcomes:x:1'])).toThrow(/waitFor/);
    expect(() => parseWaitFor(['shipment.outcomes:1'])).toThrow(/waitFor/);
  });

  it('refuses a position on a topic the read is not projected from, pointing a shipment read at readToken', () => {
    const shipmentRead = ['shipment.events'] as const;
    expect(parseWaitFor(['t1.shipment.events:2:9'], 't1.', shipmentRead)).toEqual([{ topic: 'shipment.events', partition: 2, offset: 9n }]);
    expect(() => parseWaitFor(['shipment.outcomes:3:42'], '', shipmentRead)).toThrow(/waitFor: "shipment.outcomes:3:42" is on shipment.outcomes, .*readToken/);
    expect(() => parseWaitFor(['accounting.transactions:0:1'], '', shipmentRead)).toThrow(/projected from shipment.events only/);
  });

  it('is reflected once the stored next offset is past the position', () => {
    const offsets = groupOffsets({ 'shipment.outcomes:3': '43', 'shipment.events:10': '5', 'shipment.events:2': '1' });
    expect(Object.keys(offsets['shipment.events'] ?? {})).toEqual(['2', '10']);
    expect(isReflected(offsets, { topic: 'shipment.outcomes', partition: 3, offset: 42n })).toBe(true);
    expect(isReflected(offsets, { topic: 'shipment.outcomes', partition: 3, offset: 43n })).toBe(false);
    expect(isReflected(offsets, { topic: 'shipment.outcomes', partition: 0, offset: 0n })).toBe(false);
  });
});
