import { WaybillError, type ErrorContext } from '@waybill/util';

/**
 * An error the REST API answers with Confluent's body `{error_code, message}`. `status` is the
 * HTTP status and `errorCode` Confluent's numeric code, so clients written for Confluent Schema
 * Registry branch on it exactly as they would there.
 */
export abstract class RegistryError extends WaybillError {
  abstract readonly status: number;
  abstract readonly errorCode: number;

  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, context, options);
  }
}

/** 40401: the subject has no versions (or only soft-deleted ones, unless asked for). */
export class SubjectNotFoundError extends RegistryError {
  readonly code = 'SUBJECT_NOT_FOUND';
  readonly status = 404;
  readonly errorCode = 40401;
  constructor(subject: string) {
    super(`Subject '${subject}' not found.`, { subject });
  }
}

/** 40402 */
export class VersionNotFoundError extends RegistryError {
  readonly code = 'VERSION_NOT_FOUND';
  readonly status = 404;
  readonly errorCode = 40402;
  constructor(subject: string, version: number | string) {
    super(`Version ${version} not found.`, { subject, version });
  }
}

/** 40403: no schema with that id, or the schema is not registered under the subject. */
export class SchemaNotFoundError extends RegistryError {
  readonly code = 'SCHEMA_NOT_FOUND';
  readonly status = 404;
  readonly errorCode = 40403;
  constructor(message = 'Schema not found', context: ErrorContext = {}) {
    super(message, context);
  }
}

/** 40404: a soft delete of an already soft-deleted subject. */
export class SubjectSoftDeletedError extends RegistryError {
  readonly code = 'SUBJECT_SOFT_DELETED';
  readonly status = 404;
  readonly errorCode = 40404;
  constructor(subject: string) {
    super(`Subject '${subject}' was soft deleted. Set permanent=true to delete permanently`, { subject });
  }
}

/** 40405: a permanent delete must follow a soft delete. */
export class SubjectNotSoftDeletedError extends RegistryError {
  readonly code = 'SUBJECT_NOT_SOFT_DELETED';
  readonly status = 404;
  readonly errorCode = 40405;
  constructor(subject: string) {
    super(`Subject '${subject}' was not deleted first before being permanently deleted`, { subject });
  }
}

/** 40406 */
export class VersionSoftDeletedError extends RegistryError {
  readonly code = 'VERSION_SOFT_DELETED';
  readonly status = 404;
  readonly errorCode = 40406;
  constructor(subject: string, version: number) {
    super(`Subject '${subject}' Version ${version} was soft deleted. Set permanent=true to delete permanently`, { subject, version });
  }
}

/** 40407 */
export class VersionNotSoftDeletedError extends RegistryError {
  readonly code = 'VERSION_NOT_SOFT_DELETED';
  readonly status = 404;
  readonly errorCode = 40407;
  constructor(subject: string, version: number) {
    super(`Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`, { subject, version });
  }
}

/** 40408: `GET /config/{subject}` when only the global level applies. */
export class SubjectConfigNotFoundError extends RegistryError {
  readonly code = 'SUBJECT_CONFIG_NOT_FOUND';
  readonly status = 404;
  readonly errorCode = 40408;
  constructor(subject: string) {
    super(`Subject '${subject}' does not have subject-level compatibility configured`, { subject });
  }
}

/** 404 for a path this registry does not serve. */
export class RouteNotFoundError extends RegistryError {
  readonly code = 'ROUTE_NOT_FOUND';
  readonly status = 404;
  readonly errorCode = 404;
  constructor(path: string) {
    super('HTTP 404 Not Found', { path });
  }
}

/** 409: the schema breaks the subject's compatibility level; the message says why. */
export class IncompatibleSchemaError extends RegistryError {
  readonly code = 'INCOMPATIBLE_SCHEMA';
  readonly status = 409;
  readonly errorCode = 409;
  constructor(subject: string, level: string, reasons: readonly string[]) {
    super(`Schema being registered is incompatible with an earlier schema for subject "${subject}" (${level}): ${reasons.join('; ')}`, {
      subject,
      level,
    });
  }
}

/** 400: the request body is not JSON. */
export class InvalidJsonError extends RegistryError {
  readonly code = 'INVALID_JSON';
  readonly status = 400;
  readonly errorCode = 400;
  constructor(detail: string) {
    super(`Invalid JSON in request body: ${detail}`);
  }
}

/** 413: the request body is over the size limit. */
export class PayloadTooLargeError extends RegistryError {
  readonly code = 'PAYLOAD_TOO_LARGE';
  readonly status = 413;
  readonly errorCode = 413;
  constructor(limit: string) {
    super(`Request body is larger than ${limit}`);
  }
}

/** 42201: not JSON, refused by avsc, not AVRO, or uses references. */
export class InvalidSchemaError extends RegistryError {
  readonly code = 'INVALID_SCHEMA';
  readonly status = 422;
  readonly errorCode = 42201;
  constructor(detail: string, options?: { cause?: unknown }) {
    super(`Invalid schema: ${detail}`, {}, options);
  }
}

/** 42202 */
export class InvalidVersionError extends RegistryError {
  readonly code = 'INVALID_VERSION';
  readonly status = 422;
  readonly errorCode = 42202;
  constructor(version: string) {
    super(`The specified version '${version}' is not a valid version id. Allowed values are between [1, 2^31-1] and the string "latest"`, { version });
  }
}

/** 42203 */
export class InvalidCompatibilityLevelError extends RegistryError {
  readonly code = 'INVALID_COMPATIBILITY_LEVEL';
  readonly status = 422;
  readonly errorCode = 42203;
  constructor(given: unknown) {
    super(
      'Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive',
      { given },
    );
  }
}

/** 50001: the `_schemas` topic could not be read or written. Retrying may help. */
export class StoreError extends RegistryError {
  readonly code = 'STORE_ERROR';
  readonly status = 500;
  readonly errorCode = 50001;
  override readonly retriable = true;
  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, context, options);
  }
}

/** 50002: a write was produced but not read back in time, or the registry is still catching up. */
export class StoreTimeoutError extends RegistryError {
  readonly code = 'STORE_TIMEOUT';
  readonly status = 500;
  readonly errorCode = 50002;
  override readonly retriable = true;
  constructor(message: string, context: ErrorContext = {}) {
    super(message, context);
  }
}

/** Concurrent writers kept claiming the same id or version; the request gave up. */
export class WriteConflictError extends RegistryError {
  readonly code = 'WRITE_CONFLICT';
  readonly status = 500;
  readonly errorCode = 50001;
  override readonly retriable = true;
  constructor(subject: string, attempts: number) {
    super(`Gave up registering under '${subject}' after ${attempts} conflicting concurrent writes`, { subject, attempts });
  }
}
