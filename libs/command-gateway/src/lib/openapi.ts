import { jsonAnswer, param } from '@waybill/platform';
import { schema as s, type JsonSchema } from '@waybill/util';

// What both front doors' OpenAPI documents say the same way: the headers a command takes, the
// 202 of a command whose answer did not come in time, and the 422 of a reused Idempotency-Key.

const TOKEN: JsonSchema = { type: 'string', pattern: '^[\\x21-\\x7e]{1,200}$' };

/** Idempotency-Key and X-Trace-Id, as every command route takes them. */
export const COMMAND_HEADERS = [
  param(
    'Idempotency-Key',
    'header',
    'Makes a retry safe: the same key on the same request answers the first outcome again and produces nothing; on a different request it is 422 IDEMPOTENCY_KEY_REUSED. 1 to 200 visible ASCII characters.',
    TOKEN,
    false,
  ),
  param('X-Trace-Id', 'header', 'Continue this trace (1 to 200 visible ASCII characters); otherwise a new one starts.', TOKEN, false),
];

/** `operationId` of each front door's `GET /commands/{commandId}`. */
export const pollLink = (operationId: string) => ({ Poll: { operationId, parameters: { commandId: '$response.body#/commandId' }, description: 'The answer to this command.' } });

/** The 202 of a command whose answer did not come within OUTCOME_WAIT_MS: poll `GET /commands/{commandId}`. */
export function pendingAnswer(pending: Record<string, JsonSchema>, pollOperationId: string) {
  return {
    '202': jsonAnswer('Not answered in time: poll the URL in `poll` (also the Location header).', s.obj({ status: s.oneOf(['pending']), commandId: s.str, ...pending, poll: s.str }), {
      links: pollLink(pollOperationId),
    }),
  };
}

/** The body of a 422 IDEMPOTENCY_KEY_REUSED (one of the answers a 422 may be). */
export const IDEMPOTENCY_KEY_REUSED: JsonSchema = { allOf: [s.ref('Error'), s.obj({ error: s.oneOf(['IDEMPOTENCY_KEY_REUSED']), commandId: s.str })] };

