import { WaybillError, type ErrorContext } from '@waybill/util';

/** Why a message could not be decoded. */
export type UndecodableReason = 'TOO_SHORT' | 'BAD_MAGIC_BYTE' | 'UNKNOWN_SCHEMA_ID' | 'UNKNOWN_RECORD' | 'AVRO_DECODE_FAILED';

/**
 * A message that will never decode, however often it is retried: route it to the topic's
 * dead-letter topic (`deadLetterTopic(topic)`) and move on.
 */
export class UndecodableMessageError extends WaybillError {
  readonly code = 'UNDECODABLE_MESSAGE';
  readonly reason: UndecodableReason;
  readonly schemaId: number | undefined;

  constructor(reason: UndecodableReason, message: string, context: ErrorContext & { schemaId?: number } = {}, options?: { cause?: unknown }) {
    super(message, { ...context, reason }, options);
    this.reason = reason;
    this.schemaId = context.schemaId;
  }
}

/** A value that does not match its record's schema; `paths` name every bad field (e.g. `data.lines.0.quantity`). */
export class InvalidRecordError extends WaybillError {
  readonly code = 'INVALID_RECORD';
  readonly recordName: string;
  readonly paths: readonly string[];

  constructor(recordName: string, paths: readonly string[], context: ErrorContext = {}) {
    super(`invalid ${recordName}: bad value at ${paths.length > 0 ? paths.join(', ') : '(root)'}`, { ...context, recordName, paths });
    this.recordName = recordName;
    this.paths = paths;
  }
}

/** A record name that has no schema, or that the topic does not carry. */
export class UnknownRecordError extends WaybillError {
  readonly code = 'UNKNOWN_RECORD';

  constructor(message: string, context: ErrorContext = {}) {
    super(message, context);
  }
}

/**
 * Thrown by a `SchemaRegistryClient` when the registry has no schema with that id. The serde turns
 * it into an `UndecodableMessageError` (UNKNOWN_SCHEMA_ID); any other registry failure is retriable.
 */
export class SchemaNotFoundError extends WaybillError {
  readonly code = 'SCHEMA_NOT_FOUND';
  readonly schemaId: number;

  constructor(schemaId: number, options?: { cause?: unknown }) {
    super(`the schema registry has no schema with id ${schemaId}`, { schemaId }, options);
    this.schemaId = schemaId;
  }
}

/**
 * The schema registry failed to answer or refused a registration. Retriable unless the registry
 * answered with a 4xx (an incompatible or invalid schema will not get better by retrying).
 */
export class SchemaRegistryError extends WaybillError {
  readonly code = 'SCHEMA_REGISTRY_ERROR';
  override readonly retriable: boolean;

  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, context, options);
    this.retriable = !isClientError(options?.cause);
  }
}

function isClientError(cause: unknown): boolean {
  const status = typeof cause === 'object' && cause !== null ? (cause as { status?: unknown }).status : undefined;
  return typeof status === 'number' && status >= 400 && status < 500;
}
