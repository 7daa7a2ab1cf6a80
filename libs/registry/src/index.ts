export { startRegistry, type RegistryOptions, type RunningRegistry } from './lib/registry';
export { parseBasicAuthUsers, basicAuth, type BasicAuthUsers } from './lib/basic-auth';
export { checkCompatibility, parseCompatibilityLevel, COMPATIBILITY_LEVELS, DEFAULT_COMPATIBILITY, type CompatibilityLevel, type CompatibilityResult, type PreviousSchema } from './lib/compatibility';
export {
  RegistryError,
  SubjectNotFoundError,
  VersionNotFoundError,
  SchemaNotFoundError,
  SubjectSoftDeletedError,
  SubjectNotSoftDeletedError,
  VersionSoftDeletedError,
  VersionNotSoftDeletedError,
  SubjectConfigNotFoundError,
  RouteNotFoundError,
  IncompatibleSchemaError,
  InvalidJsonError,
  PayloadTooLargeError,
  InvalidSchemaError,
  InvalidVersionError,
  InvalidCompatibilityLevelError,
  StoreError,
  StoreTimeoutError,
  WriteConflictError,
} from './lib/errors';
