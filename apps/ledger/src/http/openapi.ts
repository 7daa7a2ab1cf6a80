import type { LedgerTopic } from '@waybill/ledger-projections';
import { errorAnswer, jsonAnswer, openApiDocument as platformDocument, param, UNAVAILABLE, type OpenApiDocument } from '@waybill/platform';
import { SHIPMENT_EVENT_TYPES, SHIPMENT_STATUSES } from '@waybill/shipment-domain';
import { schema, type JsonSchema } from '@waybill/util';
import { QUERY_READS, type QueryPath } from './reads';

type Schema = JsonSchema;
const { ref, obj, str, int } = schema;
const instant = schema.instant;

const waitFor = (readsFrom: readonly LedgerTopic[]) => ({
  name: 'waitFor',
  in: 'query',
  required: false,
  description: `Wait until the ledger reflects these record positions: <topic>:<partition>:<offset> (e.g. ${readsFrom[0]}:3:42), repeated or comma-separated, on a topic this read is projected from (${readsFrom.join(', ')}). The topics are projected independently, so a position on another topic is 400. The topic is logical (${readsFrom[0]}) or physical (with TOPIC_PREFIX). Past WAIT_FOR_TIMEOUT_MS (default 5000) the answer is 504 WAIT_FOR_TIMEOUT.`,
  style: 'form',
  explode: true,
  schema: { type: 'array', items: str },
});
const readToken = param(
  'readToken',
  'query',
  "Read your own write: the readToken of shipment-handler's answer to a command on this shipment, <shipmentId>@<version>. The read waits until the ledger holds the shipment at that version or later; past WAIT_FOR_TIMEOUT_MS (default 5000) the answer is 504 WAIT_FOR_TIMEOUT. 400 when malformed, given twice, or for another shipment.",
  { type: 'string', pattern: '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}@(0|[1-9][0-9]{0,14})$', example: '1345693@4' },
);

const cursor = param('cursor', 'query', 'Opaque cursor from the previous page (nextCursor).');
const limitParam = param('limit', 'query', 'Page size, 1 to 200 (default 50).', { type: 'integer', minimum: 1, maximum: 200, default: 50 });

const errors = {
  '400': errorAnswer('A bad query parameter, named in `param`.'),
  '504': errorAnswer('WAIT_FOR_TIMEOUT: the readToken version or the waitFor positions not reached in time.'),
  ...UNAVAILABLE,
};
const notFound = { '404': errorAnswer('Unknown id.') };

const ok = (description: string, body: Schema): Record<string, unknown> => ({ '200': jsonAnswer(description, { allOf: [body, obj({ meta: ref('Meta') })] }) });

/** The path entry of a query route (given as its express path), with the waits that route takes. */
function query(path: QueryPath, summary: string, parameters: unknown[], response: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  const { readsFrom, ofShipment } = QUERY_READS[path];
  const waits = ofShipment ? [readToken, waitFor(readsFrom)] : [waitFor(readsFrom)];
  const get = { summary, parameters: [...parameters, ...waits], responses: { ...response, ...errors, ...extra } };
  return { [path.replace(/:(\w+)/g, '{$1}')]: { get } };
}

/**
 * The OpenAPI 3 description of every ledger endpoint. Served at `GET /openapi.json`, which needs
 * an API key like every route but the health checks (a route test keeps this and the router equal).
 */
export function openApiDocument(): OpenApiDocument {
  return platformDocument({
    title: 'Waybill ledger',
    description:
      'Read models projected from shipment.events, shipment.outcomes and accounting.transactions. Every answer has meta.offsets: per logical topic and partition, the next offset the data reflects at least.',
    schemas: {
        Meta: obj({ offsets: { type: 'object', additionalProperties: { type: 'object', additionalProperties: str }, example: { 'shipment.events': { '0': '42' } } } }),
        ShipmentListItem: obj({
          shipmentId: str,
          orderId: str,
          status: { type: 'string', enum: [...SHIPMENT_STATUSES] },
          version: int,
          customerAccountId: str,
          totalMinor: int,
          currency: str,
          createdAt: instant,
          updatedAt: instant,
        }),
        Shipment: {
          allOf: [ref('ShipmentListItem'), obj({ lastEvent: obj({ eventId: str, type: str }), allowedCommands: { type: 'array', items: str }, state: { type: 'object' }, archived: { type: 'boolean', description: 'Closed for longer than LEDGER_RETENTION_DAYS: its history is read from Kafka, and event lists, traces and alerts no longer list it.' } })],
        },
        ShipmentAsOf: obj({
          shipmentId: str,
          asOf: { ...instant, nullable: true, description: 'The business-time instant asked for (null: any business time).' },
          knownAt: { ...instant, nullable: true, description: 'The recorded-time instant asked for (null: everything recorded).' },
          status: str,
          version: { ...int, description: 'The highest version in effect.' },
          state: { type: 'object' },
          inEffect: obj({
            throughVersion: { ...int, description: 'Every version up to this one is in effect…' },
            alsoVersions: { type: 'array', items: int, description: '…and these later ones: observed facts recorded late whose business time is at or before asOf.' },
          }),
          reordered: { type: 'boolean', description: 'True when late observed facts made the business-time order differ from the version order (the sorted fold).' },
          folded: obj({ fromSnapshotVersion: int, events: int }),
        }),
        RuleViolation: obj(
          {
            code: str,
            rule: str,
            fromStatus: str,
            transition: str,
            previous: {
              ...obj({ eventId: str, type: str, version: int, initiatedBy: str, observedBy: { type: 'string', nullable: true }, occurredAt: instant, recordedAt: instant }),
              nullable: true,
              description: 'The event the fact followed on the business axis when Waybill recorded it (what it was judged against); in event lists and /events/{eventId}.',
            },
          },
          ['code', 'rule', 'fromStatus', 'transition'],
        ),
        Observation: obj({
          source: { ...str, description: 'The system of record that reported the fact.' },
          sourceId: { ...str, description: 'Its own id for the fact; (source, sourceId) is recorded once.' },
          process: { type: 'string', nullable: true },
          observedBy: { ...str, description: 'Who did it in the source.' },
          reportedBy: { ...str, description: 'The integration that reported it (the event’s initiatedBy).' },
          violation: { allOf: [ref('RuleViolation')], nullable: true, description: 'The rule the fact broke: recorded anyway, and an alert.' },
        }),
        Event: obj({
          eventId: str,
          type: { type: 'string', enum: [...SHIPMENT_EVENT_TYPES] },
          shipmentId: str,
          version: int,
          traceId: str,
          causationId: str,
          initiatedBy: str,
          at: instant,
          timestamp: { ...int, description: 'Business time in epoch ms (= occurredAt), kept for older clients.' },
          occurredAt: { ...instant, description: 'Business time: when it happened (an observed fact: when the source says it happened).' },
          recordedAt: { ...instant, description: 'When Waybill recorded it: the Kafka record timestamp on shipment.events.' },
          observation: { allOf: [ref('Observation')], nullable: true, description: 'Set for a fact a system of record reported; null for Waybill’s own decisions.' },
          data: { type: 'object' },
          position: ref('Position'),
        }),
        Outcome: obj({
          id: str,
          commandId: str,
          commandType: str,
          shipmentId: str,
          status: { type: 'string', enum: ['Accepted', 'Rejected'] },
          version: int,
          eventIds: { type: 'array', items: str },
          rejection: { type: 'object', nullable: true },
          alert: { type: 'boolean' },
          violation: {
            ...obj({ code: str, rule: str, fromStatus: str, transition: str, source: str, sourceId: str, observedBy: str }),
            nullable: true,
            description: 'A RecordObservation whose fact the state machine forbids: recorded anyway (status Accepted), alert true.',
          },
          initiatedBy: str,
          role: str,
          traceId: str,
          at: instant,
          timestamp: int,
          recordedAt: { ...instant, nullable: true, description: 'When the outcome was recorded (its Kafka record timestamp).' },
          position: ref('Position'),
        }),
        Alert: {
          allOf: [
            ref('Outcome'),
            obj({
              kind: { type: 'string', enum: ['rejected-command', 'rule-violation'], description: 'rejected-command: a command the rules refused; rule-violation: an observed fact recorded although it broke a rule.' },
              acknowledged: { type: 'boolean' },
              acknowledgedBy: { type: 'string', nullable: true },
              acknowledgedAt: { ...instant, nullable: true },
            }),
          ],
        },
        Transaction: obj({
          transactionId: str,
          accountId: str,
          kind: { type: 'string', enum: ['Charge', 'ChargeReversal', 'Payment', 'Adjustment'] },
          amountMinor: int,
          currency: str,
          reason: { type: 'string', nullable: true },
          shipmentId: { type: 'string', nullable: true },
          sourceEventId: { type: 'string', nullable: true },
          eventId: str,
          traceId: str,
          initiatedBy: str,
          at: instant,
          timestamp: int,
          position: ref('Position'),
        }),
        Account: obj({ accountId: str, balanceMinor: int, currency: str, version: int, firstTransactionAt: instant, lastTransactionAt: instant }),
        FieldChange: obj({ path: str, before: {}, after: {} }),
    },
    paths: {
      ...query(
        '/shipments',
        'Shipments in id order, optionally by status and a search on shipment or order id.',
        [param('status', 'query', 'Only shipments currently in this status.', { type: 'string', enum: [...SHIPMENT_STATUSES] }), param('q', 'query', 'Case-insensitive substring of the shipment id or order id.'), cursor, limitParam],
        ok('A page of shipments.', obj({ items: { type: 'array', items: ref('ShipmentListItem') }, nextCursor: { type: 'string', nullable: true } })),
      ),
      ...query('/stats/status-counts', 'How many shipments are in each status now.', [], ok('Counts per status.', obj({ counts: { type: 'object', additionalProperties: int }, total: int }))),
      ...query(
        '/shipments/:id',
        'A shipment’s current state; with asOf its state at that business time, with knownAt what Waybill had recorded by then, with both what Waybill knew at knownAt about the state at asOf (folded by the domain’s evolve in business-time order, from the nearest snapshot).',
        [
          param('id', 'path', 'Shipment id.'),
          param(
            'asOf',
            'query',
            'Business axis: an ISO-8601 instant with a zone. An event is in effect from its business time on (inclusive); an observed fact recorded late takes its place by its own business time. 404 NOT_YET_CREATED before the first event.',
            instant,
            false,
          ),
          param('knownAt', 'query', 'Recorded axis: an ISO-8601 instant with a zone. Only events Waybill had recorded by then (Kafka record time) count. 404 NOT_YET_RECORDED before the first was recorded.', instant, false),
        ],
        { '200': { description: 'The shipment', content: { 'application/json': { schema: { oneOf: [ref('Shipment'), ref('ShipmentAsOf')] } } } } },
        { '404': errorAnswer('NOT_FOUND (unknown id), NOT_YET_CREATED (with createdAt) or NOT_YET_RECORDED (with firstRecordedAt).') },
      ),
      ...query(
        '/shipments/:id/events',
        'Every event of a shipment, in version order.',
        [param('id', 'path', 'Shipment id.')],
        ok('The events.', obj({ shipmentId: str, items: { type: 'array', items: ref('Event') } })),
        notFound,
      ),
      ...query(
        '/shipments/:id/diff',
        'What changed between two instants: field-level before/after and the events in between.',
        [
          param('id', 'path', 'Shipment id.'),
          param('from', 'query', 'ISO-8601 instant (business time).', instant, true),
          param('to', 'query', 'ISO-8601 instant, not before from.', instant, true),
          param('knownAt', 'query', 'Both states as Waybill had recorded them by this instant (ISO-8601).', instant, false),
        ],
        ok(
          'The difference (bookkeeping such as statusTimeline left out).',
          obj({
            shipmentId: str,
            knownAt: { ...instant, nullable: true },
            from: obj({ at: instant, exists: { type: 'boolean' }, version: int, status: { type: 'string', nullable: true } }),
            to: obj({ at: instant, exists: { type: 'boolean' }, version: int, status: { type: 'string', nullable: true } }),
            changes: { type: 'array', items: ref('FieldChange') },
            events: { type: 'array', items: ref('Event') },
          }),
        ),
        notFound,
      ),
      ...query(
        '/events',
        'Every shipment event, newest first.',
        [
          param('type', 'query', 'Event type.', { type: 'string', enum: [...SHIPMENT_EVENT_TYPES] }),
          param('initiatedBy', 'query', 'Principal id.'),
          param('from', 'query', 'Earliest time, inclusive (ISO-8601).', instant),
          param('to', 'query', 'Latest time, inclusive (ISO-8601).', instant),
          cursor,
          limitParam,
        ],
        ok('A page of events.', obj({ items: { type: 'array', items: ref('Event') }, nextCursor: { type: 'string', nullable: true } })),
      ),
      ...query(
        '/events/:eventId',
        'One event with the previous and next event of the same shipment.',
        [param('eventId', 'path', 'Event id.')],
        ok('The event.', obj({ event: ref('Event'), previous: { allOf: [ref('Event')], nullable: true }, next: { allOf: [ref('Event')], nullable: true } })),
        notFound,
      ),
      ...query(
        '/traces/:traceId',
        'Everything one trace caused across domains (shipment events, outcomes, accounting transactions), oldest first.',
        [param('traceId', 'path', 'Trace id.')],
        ok('The trace.', obj({ traceId: str, items: { type: 'array', items: obj({ kind: { type: 'string', enum: ['event', 'outcome', 'transaction'] }, at: instant, event: ref('Event'), outcome: ref('Outcome'), transaction: ref('Transaction') }, ['kind', 'at']) }, truncated: { type: 'boolean' } })),
        notFound,
      ),
      ...query(
        '/alerts',
        'Outcomes that raised an alert, newest first, with their acknowledgement.',
        [cursor, limitParam],
        ok('A page of alerts.', obj({ items: { type: 'array', items: ref('Alert') }, nextCursor: { type: 'string', nullable: true } })),
      ),
      '/alerts/stream': {
        get: {
          summary:
            'Live alerts as server-sent events (event: alert | ack). The key goes in the X-API-Key or Authorization header, never the URL; browsers read it with fetch() and a streaming body, since EventSource cannot send headers.',
          responses: { '200': { description: 'Server-sent events.', content: { 'text/event-stream': { schema: str } } } },
        },
      },
      '/alerts/{id}/ack': {
        post: {
          summary: 'Acknowledge an alert (team-lead or supervisor). The first acknowledgement is kept; a repeat answers it again.',
          'x-roles': ['team-lead', 'supervisor'],
          parameters: [param('id', 'path', 'Alert (outcome) id.')],
          responses: {
            '200': jsonAnswer('Acknowledged.', { allOf: [ref('Alert'), obj({ alreadyAcknowledged: { type: 'boolean' }, meta: ref('Meta') })] }),
            ...notFound,
            ...UNAVAILABLE,
          },
        },
      },
      ...query(
        '/accounts/:id',
        'An account’s balance (minor units) and version (its transaction count).',
        [param('id', 'path', 'Account id.')],
        ok('The account.', ref('Account')),
        notFound,
      ),
      ...query(
        '/accounts/:id/transactions',
        'An account’s transactions, newest first, each with the shipment event that caused it.',
        [param('id', 'path', 'Account id.'), cursor, limitParam],
        ok(
          'A page of transactions.',
          obj({ accountId: str, items: { type: 'array', items: { allOf: [ref('Transaction'), obj({ cause: { type: 'object', nullable: true } })] } }, nextCursor: { type: 'string', nullable: true } }),
        ),
        notFound,
      ),
    },
  });
}
