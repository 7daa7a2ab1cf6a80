import { Type, types } from 'avsc';
import { latestSchema } from '@waybill/contracts';
import type { FieldError } from '@waybill/shipment-domain';

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
    for (const [key, child] of Object.entries(value)) {
      const childPath = path ? `${path}.${key}` : key;
      const fieldType = known.get(key);
      if (!fieldType) out.push({ field: childPath, message: 'is not a field of this command' });
      else walk(fieldType, child, childPath, out);
    }
  } else if (type instanceof types.ArrayType && Array.isArray(value)) {
    value.forEach((item, i) => walk(type.itemsType, item, `${path}[${i}]`, out));
  } else if (type instanceof types.UnwrappedUnionType || type instanceof types.WrappedUnionType) {
    const record = (type as unknown as { types: Type[] }).types.find((t) => t instanceof types.RecordType);
    if (record) walk(record, value, path, out);
  }
}

/**
 * Fields the command's schema does not have. They are refused with 400 rather than dropped, so a
 * misspelt field name never silently loses what the caller meant.
 */
export function undeclaredFields(commandType: string, data: unknown): FieldError[] {
  const type = dataTypeOf(commandType);
  const out: FieldError[] = [];
  if (type) walk(type, data, '', out);
  return out;
}
