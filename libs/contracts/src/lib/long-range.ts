import type { Type } from 'avsc';

// NOTE: avsc zig-zags longs with float arithmetic, so a long below -2^52 comes back with its sign
// flipped and no error. Waybill longs are therefore limited to a range that survives the trip.

/** The smallest long Waybill writes or reads. */
export const MIN_LONG = -(2 ** 52);
/** The largest long Waybill writes or reads. */
export const MAX_LONG = 2 ** 52 - 1;

interface TypeShape {
  typeName: string;
  fields?: Array<{ name: string; type: TypeShape }>;
  itemsType?: TypeShape;
  valuesType?: TypeShape;
  types?: TypeShape[];
  isValid(value: unknown): boolean;
}

function walk(type: TypeShape, value: unknown, path: string[], out: string[]): void {
  switch (type.typeName) {
    case 'long':
      if (typeof value === 'number' && (value < MIN_LONG || value > MAX_LONG)) out.push(path.join('.'));
      return;
    case 'record':
      for (const field of type.fields ?? []) walk(field.type, (value as Record<string, unknown>)[field.name], [...path, field.name], out);
      return;
    case 'array':
      (value as unknown[]).forEach((item, i) => walk(type.itemsType as TypeShape, item, [...path, String(i)], out));
      return;
    case 'map':
      for (const [key, item] of Object.entries(value as Record<string, unknown>)) walk(type.valuesType as TypeShape, item, [...path, key], out);
      return;
    case 'union:unwrapped': {
      const branch = (type.types ?? []).find((t) => t.isValid(value));
      if (branch) walk(branch, value, path, out);
      return;
    }
    default:
      return;
  }
}

/** Paths of long fields outside [MIN_LONG, MAX_LONG] in a value that is otherwise valid for `type`. */
export function outOfRangeLongPaths(type: Type, value: unknown): string[] {
  const out: string[] = [];
  walk(type as unknown as TypeShape, value, [], out);
  return out;
}
