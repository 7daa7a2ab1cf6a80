import { COMMAND_HEADERS, IDEMPOTENCY_KEY_REUSED, pendingAnswer, pollLink } from '@waybill/command-gateway';
import { jsonAnswer, openApiDocument as platformDocument, param, UNAVAILABLE, type OpenApiDocument } from '@waybill/platform';
import { OBSERVED_FACT_KINDS, REJECTION_CODES, SHIPMENT_STATUSES, type ShipmentCommandType } from '@waybill/shipment-domain';
import { MAX_LONG, schema, type JsonSchema } from '@waybill/util';

const { ref, obj, closed, str, int, bool, arrayOf } = schema;

/** A text field: not blank, at most 500 characters (the handler's limit). */
const text: JsonSchema = { type: 'string', minLength: 1, maxLength: 500, pattern: '\\S' };
const count: JsonSchema = { type: 'integer', minimum: 1, maximum: 2_147_483_647 };
const ID: JsonSchema = { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$', example: '1345693' };

/** The data each command type takes (CreateShipment is POST /shipments). */
const COMMAND_DATA: Record<Exclude<ShipmentCommandType, 'CreateShipment'>, JsonSchema | undefined> = {
  ReleaseForPicking: undefined,
  PickItem: closed({ sku: text, quantity: count }),
  CompletePicking: undefined,
  Pack: closed({ packageCount: count }),
  MarkReadyForShipping: undefined,
  Ship: closed({ carrier: text, trackingNumber: text }),
  ConfirmDelivery: closed({ receivedBy: text }),
  Cancel: closed({ reason: text }),
  CorrectStatus: closed({ toStatus: schema.oneOf(SHIPMENT_STATUSES), reason: text }),
};

const commandBody = {
  oneOf: Object.entries(COMMAND_DATA).map(([type, data]) =>
    data
      ? closed({ type: schema.oneOf([type]), data }, ['type', 'data'])
      : closed({ type: schema.oneOf([type]), data: { type: 'object', additionalProperties: false, nullable: true } }, ['type']),
  ),
};

/** An order's fields: a new shipment's, and an observed creation's. */
const ORDER: Record<string, JsonSchema> = {
  orderId: text,
  customerAccountId: text,
  currency: { type: 'string', pattern: '^[A-Z]{3}$', example: 'EUR' },
  lines: {
    type: 'array',
    minItems: 1,
    maxItems: 500,
    description: 'Each sku on one line; the total (quantity × unitPriceMinor summed) at most 2^52 - 1 minor units.',
    items: closed({ sku: text, quantity: count, unitPriceMinor: { type: 'integer', minimum: 0, maximum: MAX_LONG } }),
  },
  destination: closed({ name: text, street: text, city: text, postalCode: text, country: { type: 'string', pattern: '^[A-Z]{2}$', example: 'NL' } }),
};
const ORDER_REQUIRED = ['orderId', 'customerAccountId', 'currency', 'lines', 'destination'];

const common = { commandId: str, shipmentId: str, traceId: str, version: int, readToken: { type: 'string', pattern: '^.+@[0-9]+$' }, position: ref('Position') };

const SCHEMAS: Record<string, JsonSchema> = {
  NewShipment: closed({ shipmentId: ID, ...ORDER }, ORDER_REQUIRED),
  Command: commandBody,
  Accepted: obj({ status: schema.oneOf(['accepted']), ...common, eventIds: arrayOf(str) }),
  Rejected: obj({
    status: schema.oneOf(['rejected']),
    error: schema.oneOf(REJECTION_CODES),
    message: str,
    currentStatus: str,
    currentVersion: int,
    allowedCommands: arrayOf(str),
    fieldErrors: arrayOf(ref('FieldError')),
    alert: bool,
    ...common,
  }),
};

SCHEMAS.Observation = {
  ...closed(
    {
      source: { ...text, description: 'The system of record, e.g. legacy-wms.' },
      sourceId: { ...text, description: 'The source’s own id for this fact: (source, sourceId) is recorded once, for all time.' },
      process: { ...text, description: 'The source’s process (order flow, batch): every fact of one process shares one traceId.' },
      observedBy: { ...text, description: 'Who did it in the source, as the source names them. reportedBy is your API key’s principal.' },
      kind: schema.oneOf(OBSERVED_FACT_KINDS),
      toStatus: { ...schema.oneOf(SHIPMENT_STATUSES), description: 'StatusChanged: the status the source moved the shipment to.' },
      sku: text,
      quantity: count,
      packageCount: count,
      carrier: text,
      trackingNumber: text,
      receivedBy: text,
      reason: text,
      order: { ...closed(ORDER, ORDER_REQUIRED), description: 'Created: the order, as for POST /shipments (without shipmentId).' },
      occurredAt: { anyOf: [{ type: 'string', format: 'date-time' }, { type: 'integer', minimum: 0 }], description: 'When it happened in the source: an ISO 8601 instant with a zone, or epoch milliseconds.' },
    },
    ['source', 'sourceId', 'observedBy', 'kind', 'occurredAt'],
  ),
  description: 'A fact a system of record reports. Which of sku … order are required depends on kind (400 names the missing ones).',
};
SCHEMAS.Recorded = obj({
  status: schema.oneOf(['recorded']),
  ...common,
  eventIds: arrayOf(str),
  alert: { ...bool, description: 'True when the state machine forbids what the source did: recorded anyway, and an alert on the ledger.' },
  violation: {
    ...obj({ code: str, rule: str, fromStatus: str, transition: str, source: str, sourceId: str, observedBy: str }),
    nullable: true,
  },
});

const either = (...names: string[]): JsonSchema => ({ anyOf: names.map(ref) });
const links = {
  ...pollLink('getCommand'),
  NextCommand: { operationId: 'sendCommand', parameters: { shipmentId: '$response.body#/shipmentId', 'header.If-Match': '$response.header.ETag' }, description: 'The next command to this shipment, at the version this answer names.' },
};

/** The reducer's refusals, by status (`error` says which), and what this handler refuses itself. */
const refusals = (statuses: string[]) =>
  Object.fromEntries(
    statuses.map((status) => {
      const what: Record<string, [string, JsonSchema]> = {
        '400': ['VALIDATION (every bad field in fieldErrors; from this handler or the reducer), or INVALID_JSON.', either('Error', 'Rejected')],
        '403': ['FORBIDDEN: this role may not send this command (a CorrectStatus by a non-supervisor is refused by the reducer, with an alert).', either('Error', 'Rejected')],
        '404': ['NOT_FOUND: the reducer knows no such shipment (status: rejected).', ref('Rejected')],
        '409': ['VERSION_CONFLICT: If-Match names another version than the current one, or CreateShipment for a shipment that exists.', ref('Rejected')],
        '422': ['INVALID_TRANSITION (the state machine forbids the command here; an alert is raised), or IDEMPOTENCY_KEY_REUSED.', { anyOf: [ref('Rejected'), IDEMPOTENCY_KEY_REUSED] }],
      };
      const [description, body] = what[status];
      return [status, jsonAnswer(description, body)];
    }),
  );

const pending = pendingAnswer({ shipmentId: str, traceId: str }, 'getCommand');
const operators = ['associate', 'team-lead', 'supervisor'] as const;

/** shipment-handler's OpenAPI document, served at `GET /openapi.json` (a unit test keeps it equal to the router). */
export function openApiDocument(): OpenApiDocument {
  return platformDocument({
    title: 'Waybill shipment-handler',
    description:
      'Shipment commands over HTTP: each becomes a command on shipment.commands and the request waits (OUTCOME_WAIT_MS) for the reducer’s answer on shipment.outcomes. initiatedBy is always the API key’s principal. Read the result back from the ledger with the answer’s readToken.',
    schemas: SCHEMAS,
    paths: {
      '/shipments': {
        post: {
          summary: 'Create a shipment (CreateShipment). Without shipmentId one is made up.',
          operationId: 'createShipment',
          'x-roles': operators,
          parameters: COMMAND_HEADERS,
          requestBody: { required: true, content: { 'application/json': { schema: ref('NewShipment') } } },
          responses: { '201': jsonAnswer('Created.', ref('Accepted'), { links }), ...pending, ...refusals(['400', '403', '409', '422']), ...UNAVAILABLE },
        },
      },
      '/shipments/{shipmentId}/commands': {
        post: {
          summary: 'Send a command to a shipment: ReleaseForPicking, PickItem, CompletePicking, Pack, MarkReadyForShipping, Ship, ConfirmDelivery, Cancel, or CorrectStatus (supervisors).',
          operationId: 'sendCommand',
          'x-roles': operators,
          parameters: [
            param('shipmentId', 'path', 'Shipment id.', ID),
            param('If-Match', 'header', 'The version you expect the shipment to be at, e.g. "3"; another one is 409 VERSION_CONFLICT.', { type: 'string', pattern: '^(W/)?"?[0-9]{1,15}"?$' }, false),
            ...COMMAND_HEADERS,
          ],
          requestBody: { required: true, content: { 'application/json': { schema: ref('Command') } } },
          responses: { '200': jsonAnswer('Accepted.', ref('Accepted'), { links }), ...pending, ...refusals(['400', '403', '404', '409', '422']), ...UNAVAILABLE },
        },
      },
      '/shipments/{shipmentId}/observations': {
        post: {
          summary: 'Report what a system of record did to a shipment (a webhook). Recorded, never refused: a fact the state machine forbids is answered with alert and the rule it broke. A shipment Waybill never saw is started by it.',
          operationId: 'reportObservation',
          'x-roles': ['integration'],
          parameters: [param('shipmentId', 'path', 'Shipment id.', ID)],
          requestBody: { required: true, content: { 'application/json': { schema: ref('Observation') } } },
          responses: {
            '200': jsonAnswer('Recorded (again: the same source and sourceId are answered with what was recorded the first time).', ref('Recorded')),
            ...pendingAnswer({ shipmentId: str, traceId: str }, 'getCommand'),
            '400': jsonAnswer('VALIDATION: every bad field in fieldErrors (a missing sourceId, a status that does not exist, a field of another kind …); nothing was produced.', ref('Error')),
            ...UNAVAILABLE,
          },
        },
      },
      '/commands/{commandId}': {
        get: {
          summary: 'The answer to an earlier command, as its POST gave it (a CreateShipment’s is 201), or 202 while it is pending.',
          operationId: 'getCommand',
          parameters: [param('commandId', 'path', 'The commandId of an earlier answer.')],
          responses: {
            '200': jsonAnswer('Accepted.', ref('Accepted')),
            '201': jsonAnswer('Accepted (a CreateShipment).', ref('Accepted')),
            ...pending,
            ...refusals(['400', '403', '409', '422']),
            '404': jsonAnswer('NOT_FOUND: unknown command id (no status), or the reducer knew no such shipment (status: rejected).', { anyOf: [ref('Error'), ref('Rejected')] }),
            ...UNAVAILABLE,
          },
        },
      },
    },
  });
}
