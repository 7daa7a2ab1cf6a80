export { WaybillError, type ErrorContext } from './lib/errors';
export { type Decider, assertNever, replay } from './lib/decider';
export { deciderSpec, DeciderSpecFailure } from './lib/decider-spec';
export { parseInstant } from './lib/instant';
export {
  textCharacterProblem,
  textCharacterErrors,
  hasControlCharacter,
  hasLoneSurrogate,
  CONTROL_CHARACTERS_MESSAGE,
  CONTROL_CHARACTERS_MULTI_LINE_MESSAGE,
  LONE_SURROGATE_MESSAGE,
  type TextKind,
} from './lib/text';
export { schema, type JsonSchema } from './lib/json-schema';
export { MIN_LONG, MAX_LONG } from './lib/long-range';
