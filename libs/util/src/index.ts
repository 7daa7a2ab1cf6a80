export { WaybillError, type ErrorContext } from './lib/errors';
export { type Decider, assertNever, replay } from './lib/decider';
export { deciderSpec, DeciderSpecFailure } from './lib/decider-spec';
export { parseInstant } from './lib/instant';
export { schema, type JsonSchema } from './lib/json-schema';
