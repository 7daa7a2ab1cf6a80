import { validateCommandData } from './validation';
import { createData } from './fixtures.spec';

// Ids and one-line text hold no control character and no lone surrogate: the handler answers 400
// naming the field, and the reducer refuses the same command with the same field errors.

const CONTROL = ['\u0000', '\u0007', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u009b'];
const withText = (path: string, value: string) => {
  type Node = { [name: string]: Node | string };
  const data = structuredClone(createData) as unknown as Node;
  const parts = path.split('.');
  let parent = data;
  for (const part of parts.slice(0, -1)) parent = parent[part] as Node;
  parent[parts[parts.length - 1]] = value;
  return data;
};

describe('validateCommandData: the characters of ids and text fields', () => {
  const CREATE_TEXT = ['orderId', 'customerAccountId', 'lines.0.sku', 'destination.name', 'destination.street', 'destination.city', 'destination.postalCode'];
  const named = (path: string) => path.replace(/\.(\d+)\./, '[$1].');

  it.each(CREATE_TEXT.flatMap((path) => CONTROL.map((c) => [path, c] as const)))('CreateShipment refuses %s holding %j', (path, c) => {
    expect(validateCommandData('CreateShipment', withText(path, `A${c}B`))).toEqual([{ field: named(path), message: expect.stringMatching(/control characters/) }]);
  });

  it.each(CREATE_TEXT)('CreateShipment refuses a lone surrogate in %s', (path) => {
    expect(validateCommandData('CreateShipment', withText(path, 'A\ud800B'))).toEqual([{ field: named(path), message: expect.stringMatching(/lone surrogate/) }]);
  });

  it.each([
    ['PickItem', { sku: 'SKU\u0000', quantity: 1 }, 'sku'],
    ['Ship', { carrier: 'DHL\u001b[31m', trackingNumber: 'T1' }, 'carrier'],
    ['Ship', { carrier: 'DHL', trackingNumber: 'T\u00071' }, 'trackingNumber'],
    ['ConfirmDelivery', { receivedBy: 'Ada\r\nX-Evil: 1' }, 'receivedBy'],
    ['Cancel', { reason: 'gone\u0000' }, 'reason'],
    ['Cancel', { reason: '\udc00' }, 'reason'],
    ['CorrectStatus', { toStatus: 'Picking', reason: 'miscounted\u009b' }, 'reason'],
  ] as const)('%s refuses %j (field %s)', (type, data, field) => {
    expect(validateCommandData(type, data)).toEqual([{ field, message: expect.stringMatching(/control characters|lone surrogate/) }]);
  });

  it('keeps every other character of Unicode', () => {
    expect(validateCommandData('CreateShipment', { ...createData, orderId: 'ORD-ünï-😀', destination: { name: 'Zoë 山田 🚚', street: 'Straße 1 \u202ex', city: 'Þórshöfn', postalCode: '۱۲۳', country: 'FO' } })).toEqual([]);
    expect(validateCommandData('Cancel', { reason: 'a\u00a0b \u200b c' })).toEqual([]);
  });
});
