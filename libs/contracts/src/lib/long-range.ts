import type { Type } from 'avsc';
import { MAX_LONG, MIN_LONG } from '@waybill/util';

// The range itself is @waybill/util's, so the domains can keep amounts within it without Avro.
export { MAX_LONG, MIN_LONG };

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

// Types with no long anywhere inside need no walk; most envelopes have one or two.
const holdsLongs = new WeakMap<TypeShape, boolean>();

function containsLong(type: TypeShape, visiting = new Set<TypeShape>()): boolean {
  const cached = holdsLongs.get(type);
  if (cached !== undefined) return cached;
  if (visiting.has(type)) return false;
  visiting.add(type);
  const children = [...(type.fields ?? []).map((f) => f.type), ...(type.types ?? []), type.itemsType, type.valuesType].filter((t): t is TypeShape => t !== undefined);
  const result = type.typeName === 'long' || children.some((child) => containsLong(child, visiting));
  visiting.delete(type);
  holdsLongs.set(type, result);
  return result;
}

// The allocation-free first pass: every record encoded goes through it, paths are only built
// for the rare value that fails.
function inRange(type: TypeShape, value: unknown): boolean {
  switch (type.typeName) {
    case 'long':
      return typeof value !== 'number' || (value >= MIN_LONG && value <= MAX_LONG);
    case 'record': {
      const fields = type.fields ?? [];
      for (let i = 0; i < fields.length; i += 1) {
        const field = fields[i];
        if (containsLong(field.type) && !inRange(field.type, (value as Record<string, unknown>)[field.name])) return false;
      }
      return true;
    }
    case 'array': {
      const items = value as unknown[];
      const itemType = type.itemsType as TypeShape;
      if (!containsLong(itemType)) return true;
      for (let i = 0; i < items.length; i += 1) if (!inRange(itemType, items[i])) return false;
      return true;
    }
    case 'map': {
      const valuesType = type.valuesType as TypeShape;
      if (!containsLong(valuesType)) return true;
      for (const key in value as Record<string, unknown>) if (!inRange(valuesType, (value as Record<string, unknown>)[key])) return false;
      return true;
    }
    case 'union:unwrapped': {
      if (value === null) return true;
      const branch = (type.types ?? []).find((t) => t.isValid(value));
      return branch === undefined || inRange(branch, value);
    }
    default:
      return true;
  }
}

/** Paths of long fields outside [MIN_LONG, MAX_LONG] in a value that is otherwise valid for `type`. */
export function outOfRangeLongPaths(type: Type, value: unknown): string[] {
  const shape = type as unknown as TypeShape;
  if (!containsLong(shape) || inRange(shape, value)) return [];
  const out: string[] = [];
  walk(shape, value, [], out);
  return out;
}
