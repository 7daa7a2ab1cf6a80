import type { Type } from 'avsc';
import { UndecodableMessageError } from './errors';

// NOTE: avsc trusts array and map block counts, so a corrupt count of a few billion makes it loop
// and allocate until the process dies: one poison message would stall a partition for good. This
// walk reads the writer schema's layout with bounds checks first and rejects impossible counts.

const MAX_ZERO_WIDTH_ITEMS = 1_000_000;

interface Cursor {
  pos: number;
  zeroWidthBudget: number;
}

interface AvroTypeShape {
  typeName: string;
  fields?: Array<{ type: AvroTypeShape }>;
  itemsType?: AvroTypeShape;
  valuesType?: AvroTypeShape;
  types?: AvroTypeShape[];
  symbols?: string[];
  size?: number;
  underlyingType?: AvroTypeShape;
}

function fail(message: string, schemaId: number | undefined): never {
  throw new UndecodableMessageError('AVRO_DECODE_FAILED', `malformed Avro body: ${message}`, { schemaId });
}

// A zig-zag varint at or above 2^53 is a long outside [MIN_LONG, MAX_LONG] (see long-range.ts).
const MAX_RAW_VARINT = 2 ** 53;

function readVarLong(buf: Buffer, c: Cursor, schemaId: number | undefined): number {
  let raw = 0;
  let factor = 1;
  for (let i = 0; ; i += 1) {
    if (i === 10 || c.pos >= buf.length) fail('truncated or overlong varint', schemaId);
    const byte = buf[c.pos++];
    raw += (byte & 0x7f) * factor;
    factor *= 128;
    if ((byte & 0x80) === 0) break;
  }
  if (raw >= MAX_RAW_VARINT) fail('long outside the range Waybill can represent', schemaId);
  return raw % 2 === 0 ? raw / 2 : -(raw + 1) / 2;
}

const minSizes = new WeakMap<AvroTypeShape, number>();

function minEncodedSize(type: AvroTypeShape, visiting = new Set<AvroTypeShape>()): number {
  const cached = minSizes.get(type);
  if (cached !== undefined) return cached;
  if (visiting.has(type)) return 0;
  visiting.add(type);
  let size: number;
  switch (type.typeName) {
    case 'null':
      size = 0;
      break;
    case 'float':
      size = 4;
      break;
    case 'double':
      size = 8;
      break;
    case 'fixed':
      size = type.size ?? 0;
      break;
    case 'record':
    case 'error':
      size = (type.fields ?? []).reduce((sum, field) => sum + minEncodedSize(field.type, visiting), 0);
      break;
    default:
      size = type.underlyingType ? minEncodedSize(type.underlyingType, visiting) : 1;
  }
  visiting.delete(type);
  minSizes.set(type, size);
  return size;
}

function scanBlocks(buf: Buffer, c: Cursor, itemSize: number, schemaId: number | undefined, scanItem: () => void): void {
  for (;;) {
    let count = readVarLong(buf, c, schemaId);
    if (count === 0) return;
    if (count < 0) {
      count = -count;
      readVarLong(buf, c, schemaId);
    }
    if (itemSize > 0 ? count * itemSize > buf.length - c.pos : (c.zeroWidthBudget -= count) < 0) {
      fail(`block of ${count} items cannot fit in ${buf.length - c.pos} bytes`, schemaId);
    }
    for (let i = 0; i < count; i += 1) scanItem();
  }
}

function need(buf: Buffer, c: Cursor, bytes: number, schemaId: number | undefined): void {
  if (bytes < 0 || c.pos + bytes > buf.length) fail('truncated body', schemaId);
  c.pos += bytes;
}

function scan(type: AvroTypeShape, buf: Buffer, c: Cursor, schemaId: number | undefined): void {
  switch (type.typeName) {
    case 'null':
      return;
    case 'boolean':
      return need(buf, c, 1, schemaId);
    case 'int':
    case 'long':
      readVarLong(buf, c, schemaId);
      return;
    case 'float':
      return need(buf, c, 4, schemaId);
    case 'double':
      return need(buf, c, 8, schemaId);
    case 'fixed':
      return need(buf, c, type.size ?? 0, schemaId);
    case 'bytes':
    case 'string':
      return need(buf, c, readVarLong(buf, c, schemaId), schemaId);
    case 'enum': {
      const index = readVarLong(buf, c, schemaId);
      if (index < 0 || index >= (type.symbols ?? []).length) fail(`enum index ${index} out of range`, schemaId);
      return;
    }
    case 'union:unwrapped':
    case 'union:wrapped': {
      const branches = type.types ?? [];
      const index = readVarLong(buf, c, schemaId);
      if (index < 0 || index >= branches.length) fail(`union index ${index} out of range`, schemaId);
      return scan(branches[index], buf, c, schemaId);
    }
    case 'record':
    case 'error':
      for (const field of type.fields ?? []) scan(field.type, buf, c, schemaId);
      return;
    case 'array': {
      const items = type.itemsType as AvroTypeShape;
      return scanBlocks(buf, c, minEncodedSize(items), schemaId, () => scan(items, buf, c, schemaId));
    }
    case 'map': {
      const values = type.valuesType as AvroTypeShape;
      return scanBlocks(buf, c, 1 + minEncodedSize(values), schemaId, () => {
        need(buf, c, readVarLong(buf, c, schemaId), schemaId);
        scan(values, buf, c, schemaId);
      });
    }
    default:
      if (type.underlyingType) return scan(type.underlyingType, buf, c, schemaId);
      fail(`unsupported Avro type ${type.typeName}`, schemaId);
  }
}

/**
 * Walks an Avro body against its writer schema without materialising it and throws
 * `UndecodableMessageError` (AVRO_DECODE_FAILED) when it cannot be well-formed: truncated, an index
 * out of range, a block count larger than the bytes left, or trailing bytes.
 */
export function assertWellFormed(writer: Type, body: Buffer, schemaId?: number): void {
  const cursor: Cursor = { pos: 0, zeroWidthBudget: MAX_ZERO_WIDTH_ITEMS };
  scan(writer as unknown as AvroTypeShape, body, cursor, schemaId);
  if (cursor.pos !== body.length) fail(`${body.length - cursor.pos} trailing bytes`, schemaId);
}
