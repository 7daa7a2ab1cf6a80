import { Type, types } from 'avsc';
import { latestSchema } from '@waybill/contracts';
import type { FieldError } from './http';

// One rule for every front door: a field the request may not carry is refused with 400 naming it,
// never dropped, so a misspelt or stray field name never silently loses what the caller meant.
// shipment-handler checks command data against the command's Avro schema, the ledger's
// correct-status proxy checks its body against the same schema, and accounting-handler and the
// command envelope check their bodies against a list of names.

/** `initiatedBy` always comes from the API key: one in a body is ignored, never an error. */
export const IGNORED_BODY_FIELDS: readonly string[] = ['initiatedBy'];

export const UNDECLARED_FIELD_MESSAGE = 'is not a field of this command';

/** The body without the fields every front door ignores (`initiatedBy`). */
export function withoutIgnoredFields(body: Record<string, unknown>): Record<string, unknown> {
  const rest: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(body)) {
    if (!IGNORED_BODY_FIELDS.includes(name)) Object.defineProperty(rest, name, { value, enumerable: true, configurable: true, writable: true });
  }
  return rest;
}

/**
 * Every own field of `body` whose name is not in `declared`, as a field error (`path` prefixes the
 * names). Not an object: nothing to say here (the type checks say it).
 */
export function undeclaredFields(body: unknown, declared: readonly string[], options: { path?: string; message?: string } = {}): FieldError[] {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return [];
  const { path = '', message = UNDECLARED_FIELD_MESSAGE } = options;
  return Object.keys(body)
    .filter((name) => !declared.includes(name))
    .map((name) => ({ field: path ? `${path}.${name}` : name, message }));
}

const dataTypes = new Map<string, Type>();

function dataTypeOf(commandType: string): Type | undefined {
  if (!dataTypes.has(commandType)) {
    const record = Type.forSchema(latestSchema(commandType).schema as never) as types.RecordType;
    const data = record.fields.find((f) => f.name === 'data');
    if (data) dataTypes.set(commandType, data.type);
  }
  return dataTypes.get(commandType);
}

function walk(type: Type, value: unknown, path: string, out: FieldError[]): void {
  if (type instanceof types.RecordType) {
    if (typeof value !== 'object' || value === null || Array.isArray(value)) return;
    const known = new Map(type.fields.map((f) => [f.name, f.type]));
    out.push(...undeclaredFields(value, [...known.keys()], { path }));
    for (const [key, child] of Object.entries(value)) {
      const fieldType = known.get(key);
      if (fieldType) walk(fieldType, child, path ? `${path}.${key}` : key, out);
    }
  } else if (type instanceof types.ArrayType && Array.isArray(value)) {
    value.forEach((item, i) => walk(type.itemsType, item, `${path}[${i}]`, out));
  } else if (type instanceof types.UnwrappedUnionType || type instanceof types.WrappedUnionType) {
    const record = (type as unknown as { types: Type[] }).types.find((t) => t instanceof types.RecordType);
    if (record) walk(record, value, path, out);
  }
}

/**
 * Fields of a command's `data` that the command's schema (the latest `<commandType>` record in
 * `@waybill/contracts`) does not have, at every depth (`destination.floor`, `lines[0].colour`).
 */
export function undeclaredCommandFields(commandType: string, data: unknown): FieldError[] {
  const type = dataTypeOf(commandType);
  const out: FieldError[] = [];
  if (type) walk(type, data, '', out);
  return out;
}
