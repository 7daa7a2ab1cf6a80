import { UndecodableMessageError } from './errors';

/** Confluent wire format: magic byte 0, then the schema id as a 4-byte big-endian int, then the Avro body. */
export const MAGIC_BYTE = 0;
/** Bytes before the Avro body. */
export const WIRE_HEADER_LENGTH = 5;

/** Prefixes an Avro body with the Confluent header. */
export function frame(schemaId: number, body: Buffer): Buffer {
  const out = Buffer.allocUnsafe(WIRE_HEADER_LENGTH + body.length);
  out.writeUInt8(MAGIC_BYTE, 0);
  out.writeInt32BE(schemaId, 1);
  body.copy(out, WIRE_HEADER_LENGTH);
  return out;
}

/** Splits a Confluent-framed message into schema id and Avro body; throws `UndecodableMessageError`. */
export function unframe(message: Buffer | null | undefined): { schemaId: number; body: Buffer } {
  if (message == null || message.length < WIRE_HEADER_LENGTH) {
    throw new UndecodableMessageError('TOO_SHORT', `a Confluent-framed message has at least ${WIRE_HEADER_LENGTH} bytes, got ${message?.length ?? 0}`);
  }
  if (message[0] !== MAGIC_BYTE) {
    throw new UndecodableMessageError('BAD_MAGIC_BYTE', `expected magic byte ${MAGIC_BYTE}, got ${message[0]}`);
  }
  return { schemaId: message.readInt32BE(1), body: message.subarray(WIRE_HEADER_LENGTH) };
}
