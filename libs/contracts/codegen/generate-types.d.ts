/** The TypeScript source of src/generated/types.ts, generated from libs/contracts/avro. */
export function generateTypes(avroDir?: string): string;
/** The TypeScript source of src/generated/schemas.ts (every .avsc version embedded). */
export function generateSchemas(avroDir?: string): string;
/** Every record directory with its versions in order, and the topic table (avro/topics.json). */
export function loadCatalogue(avroDir?: string): {
  records: Array<{ fullName: string; shortName: string; versions: Array<{ version: number; schema: object }> }>;
  topics: Array<{ topic: string; union: string; records: string[] }>;
};
export const TYPES_FILE: string;
export const SCHEMAS_FILE: string;
