import { EventEmitter } from 'node:events';
import { Router, type Request, type Response } from 'express';
import { InvalidQueryError, parseWaitFor, type LedgerReader, type ReflectedOffsets } from '@waybill/ledger-projections';
import { requireRole, ROLES } from '@waybill/platform';
import { SHIPMENT_EVENT_TYPES, SHIPMENT_STATUSES } from '@waybill/shipment-domain';
import type { AlertAcks, AlertStream } from '../alerts';
import type { OffsetWaiter } from '../offset-waiter';
import { openApiDocument } from './openapi';
import { BadParam, instant, iso, limit, many, oneOf, text } from './params';
import { accountView, alertView, eventView, shipmentView, summaryView, traceItemView, transactionView } from './views';

export interface LedgerRouteDeps {
  reader: LedgerReader;
  waiter: OffsetWaiter;
  acks: AlertAcks;
  stream: AlertStream;
  topicPrefix: string;
  waitForTimeoutMs: number;
}

class NotFound {
  constructor(
    readonly error: string,
    readonly message: string,
    readonly extra: Record<string, unknown> = {},
  ) {}
}

type Answer = { status?: number; body: Record<string, unknown> };

/**
 * The query API. Every answer carries `meta.offsets`, the next offset per logical topic and
 * partition that the data reflects at least (read before the data). `waitFor` makes a read wait
 * until those positions are reflected; past `WAIT_FOR_TIMEOUT_MS` it answers 504, never stale data
 * dressed as fresh.
 */
export function ledgerRoutes(deps: LedgerRouteDeps): Router {
  const router = Router();
  const anyone = requireRole(...ROLES);

  const read = (handler: (req: Request) => Promise<Answer>) => async (req: Request, res: Response, next: (err?: unknown) => void) => {
    try {
      let offsets: ReflectedOffsets;
      const positions = parseWaitFor(many(req, 'waitFor'), deps.topicPrefix);
      if (positions.length) {
        const waited = await deps.waiter.wait(positions, deps.waitForTimeoutMs);
        if (waited.timedOut) {
          res.status(504).json({
            error: 'WAIT_FOR_TIMEOUT',
            message: `the ledger did not reach every waitFor position within ${deps.waitForTimeoutMs} ms; retry later`,
            waitingFor: positions.map((p) => `${p.topic}:${p.partition}:${p.offset}`),
            meta: { offsets: waited.offsets },
          });
          return;
        }
        offsets = waited.offsets;
      } else {
        offsets = await deps.reader.offsets();
      }
      const answer = await handler(req);
      res.status(answer.status ?? 200).json({ ...answer.body, meta: { offsets } });
    } catch (err) {
      if (err instanceof BadParam) return void res.status(400).json({ error: 'BAD_REQUEST', param: err.param, message: `${err.param} ${err.message}` });
      if (err instanceof InvalidQueryError) return void res.status(400).json({ error: 'BAD_REQUEST', param: err.param, message: `${err.param}: ${err.reason}` });
      if (err instanceof NotFound) return void res.status(404).json({ error: err.error, message: err.message, ...err.extra });
      next(err);
    }
  };

  router.get('/openapi.json', anyone, (_req, res) => {
    res.json(openApiDocument());
  });

  router.get(
    '/shipments',
    anyone,
    read(async (req) => {
      const page = await deps.reader.listShipments({
        status: oneOf(req, 'status', SHIPMENT_STATUSES),
        q: text(req, 'q', 100),
        cursor: text(req, 'cursor', 512),
        limit: limit(req),
      });
      return { body: { items: page.items.map(summaryView), nextCursor: page.nextCursor } };
    }),
  );

  router.get(
    '/stats/status-counts',
    anyone,
    read(async () => {
      const counts = await deps.reader.statusCounts();
      return { body: { counts, total: Object.values(counts).reduce((a, b) => a + b, 0) } };
    }),
  );

  router.get(
    '/shipments/:id',
    anyone,
    read(async (req) => {
      const asOf = instant(req, 'asOf');
      const id = req.params.id;
      if (asOf === undefined) {
        const summary = await deps.reader.shipment(id);
        if (!summary) throw new NotFound('NOT_FOUND', `no shipment ${id}`);
        return { body: shipmentView(summary) };
      }
      const at = await deps.reader.stateAt(id, asOf);
      if (at.kind === 'unknown') throw new NotFound('NOT_FOUND', `no shipment ${id}`);
      if (at.kind === 'not-yet-created') {
        throw new NotFound('NOT_YET_CREATED', `shipment ${id} did not exist yet at ${iso(asOf)}`, { createdAt: iso(at.createdAt) });
      }
      return {
        body: {
          shipmentId: id,
          asOf: iso(asOf),
          status: at.state.status,
          version: at.version,
          state: at.state,
          folded: { fromSnapshotVersion: at.snapshotVersion, events: at.eventsFolded },
        },
      };
    }),
  );

  router.get(
    '/shipments/:id/events',
    anyone,
    read(async (req) => {
      const id = req.params.id;
      if (!(await deps.reader.shipment(id))) throw new NotFound('NOT_FOUND', `no shipment ${id}`);
      const events = await deps.reader.shipmentEvents(id);
      return { body: { shipmentId: id, items: events.map(eventView) } };
    }),
  );

  router.get(
    '/shipments/:id/diff',
    anyone,
    read(async (req) => {
      const from = instant(req, 'from', true)!;
      const to = instant(req, 'to', true)!;
      if (from > to) throw new BadParam('to', 'must not be before from');
      const id = req.params.id;
      const diff = await deps.reader.diff(id, from, to);
      if (!diff) throw new NotFound('NOT_FOUND', `no shipment ${id}`);
      const side = (at: number, s: typeof diff.from) =>
        s.kind === 'state' ? { at: iso(at), exists: true, version: s.version, status: s.state.status } : { at: iso(at), exists: false, version: 0, status: null };
      return { body: { shipmentId: id, from: side(from, diff.from), to: side(to, diff.to), changes: diff.changes, events: diff.events.map(eventView) } };
    }),
  );

  router.get(
    '/events',
    anyone,
    read(async (req) => {
      const from = instant(req, 'from');
      const to = instant(req, 'to');
      if (from !== undefined && to !== undefined && from > to) throw new BadParam('to', 'must not be before from');
      const page = await deps.reader.events({
        type: oneOf(req, 'type', SHIPMENT_EVENT_TYPES),
        initiatedBy: text(req, 'initiatedBy'),
        from,
        to,
        cursor: text(req, 'cursor', 512),
        limit: limit(req),
      });
      return { body: { items: page.items.map(eventView), nextCursor: page.nextCursor } };
    }),
  );

  router.get(
    '/events/:eventId',
    anyone,
    read(async (req) => {
      const found = await deps.reader.event(req.params.eventId);
      if (!found) throw new NotFound('NOT_FOUND', `no event ${req.params.eventId}`);
      return {
        body: {
          event: eventView(found.event),
          previous: found.previous && eventView(found.previous),
          next: found.next && eventView(found.next),
        },
      };
    }),
  );

  router.get(
    '/traces/:traceId',
    anyone,
    read(async (req) => {
      const trace = await deps.reader.trace(req.params.traceId);
      if (trace.items.length === 0) throw new NotFound('NOT_FOUND', `nothing recorded for trace ${req.params.traceId}`);
      return { body: { traceId: req.params.traceId, items: trace.items.map(traceItemView), truncated: trace.truncated } };
    }),
  );

  router.get(
    '/alerts',
    anyone,
    read(async (req) => {
      const page = await deps.reader.alerts({ cursor: text(req, 'cursor', 512), limit: limit(req) });
      const acks = await deps.acks.of(page.items.map((a) => a.eventId));
      return { body: { items: page.items.map((a, i) => alertView(a, acks[i])), nextCursor: page.nextCursor } };
    }),
  );

  // NOTE: EventSource cannot send headers, and keys never go in URLs (they end up in logs and
  // histories), so this route takes the key in a header like every other: browsers read it with
  // fetch() and a streaming body.
  router.get('/alerts/stream', anyone, (req, res) => {
    const closed = new EventEmitter();
    req.on('close', () => closed.emit('close'));
    deps.stream.attach(res, closed);
  });

  router.post('/alerts/:id/ack', requireRole('team-lead', 'supervisor'), async (req, res, next) => {
    try {
      const outcome = await deps.reader.outcome(req.params.id);
      if (!outcome || !outcome.alert) return void res.status(404).json({ error: 'NOT_FOUND', message: `no alert ${req.params.id}` });
      const principal = req.principal!;
      const { ack, first } = await deps.acks.acknowledge(outcome.eventId, { by: principal.id, role: principal.role, at: new Date().toISOString() });
      if (first) await deps.stream.publish('ack', { id: outcome.eventId, acknowledgedBy: ack.by, acknowledgedAt: ack.at });
      res.status(200).json({ ...alertView(outcome, ack), alreadyAcknowledged: !first, meta: { offsets: await deps.reader.offsets() } });
    } catch (err) {
      next(err);
    }
  });

  router.get(
    '/accounts/:id',
    anyone,
    read(async (req) => {
      const account = await deps.reader.account(req.params.id);
      if (!account) throw new NotFound('NOT_FOUND', `no account ${req.params.id}`);
      return { body: accountView(account) };
    }),
  );

  router.get(
    '/accounts/:id/transactions',
    anyone,
    read(async (req) => {
      const id = req.params.id;
      const account = await deps.reader.account(id);
      if (!account) throw new NotFound('NOT_FOUND', `no account ${id}`);
      const page = await deps.reader.accountTransactions(id, { cursor: text(req, 'cursor', 512), limit: limit(req) });
      return {
        body: {
          accountId: id,
          items: page.items.map((t) => ({ ...transactionView(t), cause: t.cause && { ...eventView(t.cause), data: undefined } })),
          nextCursor: page.nextCursor,
        },
      };
    }),
  );

  return router;
}

