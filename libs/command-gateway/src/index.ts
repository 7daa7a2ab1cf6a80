export { OutcomeTracker, type OutcomeTrackerOptions, type TrackedOutcome, type OutcomePosition } from './lib/outcome-tracker';
export { IdempotencyStore, fingerprint, identityDigest, type IdempotencyRecord, type Claim } from './lib/idempotency';
export { CommandGateway, type Submission, type Submitted, type Looked } from './lib/command-gateway';
export { BadRequest, guard, objectBody, optionalToken, pathId, sendIdempotencyMismatch, sendPending, sendReply, sendValidation, type CommonReply, type FieldError } from './lib/http';
export { startHandlerGateway, OUTCOME_REPLAY_MS, type HandlerGateway } from './lib/start';
export { serveHandler, handlerConfigShape, type HandlerConfig, type HandlerContext, type ServeHandlerOptions } from './lib/serve';
export { undeclaredFields, undeclaredCommandFields, withoutIgnoredFields, IGNORED_BODY_FIELDS, UNDECLARED_FIELD_MESSAGE } from './lib/undeclared-fields';
export { COMMAND_HEADERS, IDEMPOTENCY_KEY_REUSED, pendingAnswer, pollLink } from './lib/openapi';
