/** A JSON Schema (OpenAPI 3.0 dialect) as plain data. */
export type JsonSchema = Record<string, unknown>;

/**
 * Small builders for the JSON Schemas the OpenAPI documents are written in, so every document
 * spells an object, a nullable or a date-time the same way.
 */
export const schema = {
  ref: (name: string): JsonSchema => ({ $ref: `#/components/schemas/${name}` }),
  /** An object whose listed properties are all required unless `required` names fewer; other properties are allowed. */
  obj: (properties: Record<string, JsonSchema>, required: string[] = Object.keys(properties)): JsonSchema => ({ type: 'object', properties, required }),
  /** An object with exactly these properties (a request body that refuses unknown fields). */
  closed: (properties: Record<string, JsonSchema>, required: string[] = Object.keys(properties)): JsonSchema => ({ type: 'object', properties, required, additionalProperties: false }),
  str: { type: 'string' } as JsonSchema,
  int: { type: 'integer' } as JsonSchema,
  bool: { type: 'boolean' } as JsonSchema,
  instant: { type: 'string', format: 'date-time' } as JsonSchema,
  arrayOf: (items: JsonSchema): JsonSchema => ({ type: 'array', items }),
  nullable: (of: JsonSchema): JsonSchema => ('$ref' in of ? { allOf: [of], nullable: true } : { ...of, nullable: true }),
  oneOf: (values: readonly string[]): JsonSchema => ({ type: 'string', enum: [...values] }),
};
