import { UndecodableMessageError } from './errors';
import { frame, unframe } from './wire-format';

describe('the Confluent wire format', () => {
  it('is magic byte 0, a 4-byte big-endian schema id, then the body', () => {
    const framed = frame(0x01020304, Buffer.from([0xaa, 0xbb]));
    expect([...framed]).toEqual([0x00, 0x01, 0x02, 0x03, 0x04, 0xaa, 0xbb]);
    expect(unframe(framed)).toEqual({ schemaId: 0x01020304, body: Buffer.from([0xaa, 0xbb]) });
  });

  it.each([
    ['null (a tombstone)', null, 'TOO_SHORT'],
    ['four bytes', Buffer.from([0, 0, 0, 1]), 'TOO_SHORT'],
    ['a JSON payload', Buffer.from('{"eventId":"e"}'), 'BAD_MAGIC_BYTE'],
    ['magic byte 1', Buffer.from([1, 0, 0, 0, 1, 2]), 'BAD_MAGIC_BYTE'],
  ])('rejects %s', (_label, message, reason) => {
    expect(() => unframe(message)).toThrow(expect.objectContaining({ code: 'UNDECODABLE_MESSAGE', reason }));
    expect(() => unframe(message)).toThrow(UndecodableMessageError);
  });
});
