import { COMMAND_HEADERS, IDEMPOTENCY_KEY_REUSED, pendingAnswer, pollLink } from '@waybill/command-gateway';
import { BALANCE_API_SCHEMAS, balanceApiPaths } from '@waybill/contracts';
import { jsonAnswer, openApiDocument as platformDocument, param, UNAVAILABLE, type OpenApiDocument } from '@waybill/platform';
import { schema, type JsonSchema } from '@waybill/util';

const { ref, obj, closed, str, int, arrayOf, nullable } = schema;

const ID: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', example: 'ACC-42' };
const currency: JsonSchema = { type: 'string', pattern: '^[A-Z]{3}$', example: 'EUR' };
const text: JsonSchema = { type: 'string', minLength: 1, maxLength: 200, pattern: '\\S' };
const MAX = Number.MAX_SAFE_INTEGER;
const answer = { commandId: str, transactionId: str, accountId: str, traceId: str };

const SCHEMAS: Record<string, JsonSchema> = {
  ...BALANCE_API_SCHEMAS,
  Payment: closed({ amountMinor: { type: 'integer', minimum: 1, maximum: MAX, description: 'What the customer paid (positive); booked as a negative change to what is owed.' }, currency, reference: nullable(text) }, ['amountMinor', 'currency']),
  Adjustment: closed({ amountMinor: { type: 'integer', minimum: -MAX, maximum: MAX, not: { enum: [0] }, description: 'The signed change to what is owed, not 0.' }, currency, reason: text }),
  Recorded: obj(
    { status: schema.oneOf(['recorded']), ...answer, version: int, readToken: str, position: ref('Position'), balanceMinor: int, currency: str, balanceVersion: int },
    ['status', 'commandId', 'transactionId', 'accountId', 'traceId', 'version', 'readToken', 'position'],
  ),
  Duplicate: obj({ status: schema.oneOf(['duplicate']), ...answer, version: nullable(int), message: str }),
  Rejected: obj({ status: schema.oneOf(['rejected']), error: str, message: str, fieldErrors: arrayOf(ref('FieldError')), ...answer, version: nullable(int) }),
};

const recorded = jsonAnswer('Recorded: booked (balanceMinor, currency, balanceVersion once account-reducer reflects it in time).', ref('Recorded'), {
  links: {
    ...pollLink('getCommand'),
    Balance: { operationId: 'getAccount', parameters: { accountId: '$response.body#/accountId', 'query.readToken': '$response.body#/readToken' }, description: 'The balance including this booking.' },
  },
});
const decided = {
  '201': recorded,
  '200': jsonAnswer('Duplicate: the account booked this transaction before; nothing changed.', ref('Duplicate')),
  ...pendingAnswer({ accountId: str, transactionId: str, traceId: str }, 'getCommand'),
  '400': jsonAnswer('VALIDATION (every bad field in fieldErrors) or CURRENCY_MISMATCH (status: rejected when the command listener decided it), or INVALID_JSON.', { anyOf: [ref('Error'), ref('Rejected')] }),
  '404': jsonAnswer('NOT_FOUND: no such account yet (status: rejected; an account opens with its first shipment charge).', ref('Rejected')),
  '422': jsonAnswer('IDEMPOTENCY_KEY_REUSED, or a rejection with a code this handler has no status for.', { anyOf: [IDEMPOTENCY_KEY_REUSED, ref('Rejected')] }),
  ...UNAVAILABLE,
};

const write = (summary: string, operationId: string, body: string) => ({
  post: {
    summary,
    operationId,
    'x-roles': ['finance'] as const,
    parameters: [param('accountId', 'path', 'Account id.', ID), ...COMMAND_HEADERS],
    requestBody: { required: true, content: { 'application/json': { schema: ref(body) } } },
    responses: decided,
  },
});

/** accounting-handler's OpenAPI document, served at `GET /openapi.json` (a unit test keeps it equal to the router). */
export function openApiDocument(): OpenApiDocument {
  return platformDocument({
    title: 'Waybill accounting-handler',
    description:
      'Payments and adjustments (finance) become commands on accounting.commands; the request waits (OUTCOME_WAIT_MS) for the answer on accounting.outcomes and the balance that includes it. Balance reads are account-reducer’s, passed on as they came with the caller’s key.',
    schemas: SCHEMAS,
    paths: {
      '/accounts/{accountId}/payments': write('Book a payment the customer made.', 'bookPayment', 'Payment'),
      '/accounts/{accountId}/adjustments': write('Book an adjustment of what is owed (a reason is required).', 'bookAdjustment', 'Adjustment'),
      '/commands/{commandId}': {
        get: {
          summary: 'The answer to an earlier payment or adjustment, as its POST gave it, or 202 while pending.',
          operationId: 'getCommand',
          parameters: [param('commandId', 'path', 'The commandId of an earlier answer.')],
          responses: { ...decided, '404': jsonAnswer('NOT_FOUND: unknown command id (no status), or the decision that the account does not exist (status: rejected).', { anyOf: [ref('Error'), ref('Rejected')] }) },
        },
      },
      ...balanceApiPaths(UNAVAILABLE),
    },
  });
}
