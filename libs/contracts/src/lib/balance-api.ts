import { schema, type JsonSchema } from '@waybill/util';
import { TRANSACTION_KIND_VALUES } from '../generated/types';

// account-reducer's balance API, the one owner of balances, as OpenAPI: account-reducer serves it
// and accounting-handler passes the same reads on, answers and all, so both documents describe
// them from here. Refers to the platform's shared components (Error, Position).

const { ref, obj, str, int, instant, arrayOf, nullable } = schema;

const ACCOUNT_ID: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', example: 'ACC-42' };
const json = (description: string, body: JsonSchema, extra: Record<string, unknown> = {}) => ({ description, ...extra, content: { 'application/json': { schema: body } } });
const error = (description: string, extra: Record<string, unknown> = {}) => json(description, ref('Error'), extra);
const accountId = { name: 'accountId', in: 'path', required: true, description: 'Account id.', schema: ACCOUNT_ID };
const query = (name: string, description: string, body: JsonSchema) => ({ name, in: 'query', required: false, description, schema: body });

export const BALANCE_API_SCHEMAS: Record<string, JsonSchema> = {
  Reflects: obj({ topic: str, partition: int, nextOffset: nullable({ type: 'string', pattern: '^[0-9]+$' }) }),
  Account: obj({
    accountId: str,
    balanceMinor: int,
    currency: str,
    version: int,
    lastTransactionId: str,
    firstTransactionAt: instant,
    lastTransactionAt: instant,
    position: ref('Position'),
    reflects: ref('Reflects'),
  }),
  AccountAsOf: obj({ accountId: str, asOf: instant, balanceMinor: int, currency: str, version: int, lastTransactionId: str, lastTransactionAt: instant, reflects: ref('Reflects') }),
  AccountTransaction: obj({
    version: int,
    transactionId: str,
    eventId: str,
    kind: schema.oneOf(TRANSACTION_KIND_VALUES),
    amountMinor: int,
    currency: str,
    balanceAfterMinor: int,
    reason: nullable(str),
    shipmentId: nullable(str),
    sourceEventId: nullable(str),
    traceId: str,
    causationId: str,
    initiatedBy: str,
    timestamp: int,
    position: ref('Position'),
    at: instant,
    cause: {
      oneOf: [
        obj({ type: schema.oneOf(['shipment']), shipmentId: str, eventId: nullable(str), initiatedBy: str, traceId: str }),
        obj({ type: schema.oneOf(['request']), commandId: str, initiatedBy: str, traceId: str }),
      ],
    },
  }),
};

interface BalanceOperation {
  summary: string;
  operationId: string;
  parameters: unknown[];
  responses: Record<string, unknown>;
}

/**
 * The two balance reads. `passedOn` adds what a front door that passes them on answers itself
 * (its 503 when account-reducer does not answer) to every read.
 */
export function balanceApiPaths(passedOn: Record<string, unknown> = {}): Record<string, { get: BalanceOperation }> {
  const badParameter = { '400': error('VALIDATION: a bad accountId or query parameter, named in fieldErrors.') };
  return {
    '/accounts/{accountId}': {
      get: {
        summary: 'An account’s balance (minor units) and version (its transaction count); with asOf the fold of what was booked by then; with readToken once it reached that version.',
        operationId: 'getAccount',
        parameters: [
          accountId,
          query('asOf', 'An ISO-8601 instant with a zone: the balance as of then (404 if nothing was booked by then). Not with readToken.', instant),
          query('readToken', 'Read your own write: <accountId>@<version> from a Recorded answer; waits up to WAIT_FOR_TIMEOUT_MS for that version, then 504.', {
            type: 'string',
            pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}@[0-9]{1,15}$',
            example: 'ACC-42@1',
          }),
        ],
        responses: {
          '200': json('The balance (ETag: "<version>"), or with asOf the balance then.', { oneOf: [ref('Account'), ref('AccountAsOf')] }, {
            links: { Transactions: { operationId: 'getAccountTransactions', parameters: { accountId: '$response.body#/accountId' }, description: 'The account’s transactions.' } },
          }),
          ...badParameter,
          '404': error('NOT_FOUND: no such account (an account opens with its first transaction), or none booked by asOf.'),
          '504': error('NOT_YET: the account did not reach the readToken’s version in time.', { headers: { 'Retry-After': { schema: int } } }),
          ...passedOn,
        },
      },
    },
    '/accounts/{accountId}/transactions': {
      get: {
        summary: 'An account’s transactions, newest first, each with the balance after it and its cause (a shipment event or a request).',
        operationId: 'getAccountTransactions',
        parameters: [
          accountId,
          query('limit', 'Page size, 1 to 500 (default 50).', { type: 'integer', minimum: 1, maximum: 500, default: 50 }),
          query('cursor', 'nextCursor of the previous page.', { type: 'string', pattern: '^[1-9][0-9]{0,14}$' }),
        ],
        responses: {
          '200': json('A page of transactions.', obj({ accountId: str, items: arrayOf(ref('AccountTransaction')), nextCursor: nullable(str) })),
          ...badParameter,
          '404': error('NOT_FOUND: no such account.'),
          ...passedOn,
        },
      },
    },
  };
}
