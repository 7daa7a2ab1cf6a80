import { isCompatibilityLevel, type CompatibilityLevel } from './compatibility';

// Keys of the `_schemas` topic, in Confluent's shapes. Compaction compares key bytes, so
// `encodeKey` always writes the fields in the same order.
export type RegistryKey =
  | { keytype: 'SCHEMA'; subject: string; version: number }
  | { keytype: 'CONFIG'; subject: string | null }
  | { keytype: 'NOOP' };

export interface SchemaValue {
  subject: string;
  version: number;
  id: number;
  schema: string;
  deleted: boolean;
}

export interface ConfigValue {
  compatibilityLevel: CompatibilityLevel;
}

// One decoded record; `value: null` is a tombstone. Keys this registry does not use come back as `undefined`.
export type RegistryRecord =
  | { key: Extract<RegistryKey, { keytype: 'SCHEMA' }>; value: SchemaValue | null }
  | { key: Extract<RegistryKey, { keytype: 'CONFIG' }>; value: ConfigValue | null }
  | { key: Extract<RegistryKey, { keytype: 'NOOP' }>; value: null };

export function encodeKey(key: RegistryKey): string {
  switch (key.keytype) {
    case 'SCHEMA':
      return JSON.stringify({ keytype: 'SCHEMA', subject: key.subject, version: key.version, magic: 1 });
    case 'CONFIG':
      return JSON.stringify({ keytype: 'CONFIG', subject: key.subject, magic: 0 });
    case 'NOOP':
      return JSON.stringify({ keytype: 'NOOP', magic: 0 });
  }
}

export function encodeSchemaValue(value: SchemaValue): string {
  return JSON.stringify({ subject: value.subject, version: value.version, id: value.id, schema: value.schema, deleted: value.deleted });
}

export function encodeConfigValue(value: ConfigValue): string {
  return JSON.stringify({ compatibilityLevel: value.compatibilityLevel });
}

function parseObject(buffer: Buffer): Record<string, unknown> | undefined {
  try {
    const parsed: unknown = JSON.parse(buffer.toString('utf8'));
    return parsed && typeof parsed === 'object' && !Array.isArray(parsed) ? (parsed as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

const isPositiveInt = (v: unknown): v is number => typeof v === 'number' && Number.isInteger(v) && v > 0;

// Reads one record of the topic. Anything malformed or of a key type this registry does not
// write (MODE, CONTEXT, …) is `undefined`, so a foreign record can never corrupt the state.
export function decodeRecord(keyBytes: Buffer | null, valueBytes: Buffer | null): RegistryRecord | undefined {
  if (!keyBytes) return undefined;
  const key = parseObject(keyBytes);
  if (!key) return undefined;
  const value = valueBytes ? parseObject(valueBytes) : null;
  if (valueBytes && !value) return undefined;
  switch (key.keytype) {
    case 'SCHEMA': {
      if (typeof key.subject !== 'string' || !isPositiveInt(key.version)) return undefined;
      const schemaKey = { keytype: 'SCHEMA' as const, subject: key.subject, version: key.version };
      if (!value) return { key: schemaKey, value: null };
      if (value.subject !== key.subject || value.version !== key.version || !isPositiveInt(value.id) || typeof value.schema !== 'string') {
        return undefined;
      }
      return { key: schemaKey, value: { subject: key.subject, version: key.version, id: value.id, schema: value.schema, deleted: value.deleted === true } };
    }
    case 'CONFIG': {
      if (key.subject !== null && typeof key.subject !== 'string') return undefined;
      const configKey = { keytype: 'CONFIG' as const, subject: key.subject };
      if (!value) return { key: configKey, value: null };
      if (!isCompatibilityLevel(value.compatibilityLevel)) return undefined;
      return { key: configKey, value: { compatibilityLevel: value.compatibilityLevel } };
    }
    case 'NOOP':
      return { key: { keytype: 'NOOP' }, value: null };
    default:
      return undefined;
  }
}
