import avro from 'avsc';
import { InvalidSchemaError } from './errors';

// A schema text avsc accepted, with the form used to decide whether two texts are the same schema.
export interface ParsedSchema {
  text: string;
  canonical: string;
  type: avro.Type;
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.keys(value)
        .sort()
        .map((key) => [key, sortKeys((value as Record<string, unknown>)[key])]),
    );
  }
  return value;
}

// Whitespace and object key order never change an Avro schema's meaning, so two texts that
// differ only there are one schema. Everything else (docs, defaults, custom attributes, array
// order) is kept, like Confluent's non-normalised comparison.
export function canonicalForm(text: string): string {
  return JSON.stringify(sortKeys(JSON.parse(text)));
}

export function parseAvroSchema(text: unknown): ParsedSchema {
  if (typeof text !== 'string' || text.trim() === '') throw new InvalidSchemaError('the schema must be a non-empty string');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new InvalidSchemaError(`not JSON (${(err as Error).message})`, { cause: err });
  }
  let type: avro.Type;
  try {
    type = avro.Type.forSchema(json as avro.Schema);
  } catch (err) {
    throw new InvalidSchemaError((err as Error).message, { cause: err });
  }
  return { text, canonical: JSON.stringify(sortKeys(json)), type };
}
