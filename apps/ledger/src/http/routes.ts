import { EventEmitter } from 'node:events';
import { Router, type Request, type Response } from 'express';
import { ArchivedHistoryUnavailableError, InvalidQueryError, parseReadTokenParam, parseWaitFor, type EventDoc, type LedgerReader, type LedgerTopic, type ReflectedOffsets } from '@waybill/ledger-projections';
import { principalOf, requireRole, ROLES } from '@waybill/platform';
import { SHIPMENT_EVENT_TYPES, SHIPMENT_STATUSES } from '@waybill/shipment-domain';
import type { AlertAcks, AlertStream } from '../alerts';
import type { OffsetWaiter } from '../offset-waiter';
import type { ShipmentVersionWaiter } from '../version-waiter';
import { BadParam, instant, iso, limit, many, oneOf, pathIds, requiredInstant, text } from './params';
import { QUERY_READS, SHIPMENT_READS, type QueryPath } from './reads';
import { accountView, alertView, eventView, shipmentView, summaryView, traceItemView, transactionView } from './views';

export interface LedgerRouteDeps {
  reader: LedgerReader;
  waiter: OffsetWaiter;
  versions: ShipmentVersionWaiter;
  acks: AlertAcks;
  stream: AlertStream;
  topicPrefix: string;
  waitForTimeoutMs: number;
  /** Partitions per topic, when known (a waitFor on one that does not exist is a 400). */
  partitionsOf?: (topic: LedgerTopic) => number | undefined;
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
 * partition that the data reflects at least (read before the data). `readToken` (a shipment read)
 * makes a read wait until the shipment reached the version a write left it at, `waitFor` until
 * record positions on the topics it reads are reflected; past `WAIT_FOR_TIMEOUT_MS` it answers
 * 504, never stale data dressed as fresh.
 */
export function ledgerRoutes(deps: LedgerRouteDeps): Router {
  const router = Router();
  const anyone = requireRole(...ROLES);

  const read = (path: QueryPath, handler: (req: Request) => Promise<Answer>) => async (req: Request, res: Response, next: (err?: unknown) => void) => {
    try {
      pathIds(req);
      const { readsFrom, ofShipment } = QUERY_READS[path];
      const positions = parseWaitFor(many(req, 'waitFor'), deps.topicPrefix, readsFrom, deps.partitionsOf);
      const readTokens = many(req, 'readToken');
      if (!ofShipment && readTokens.length) throw new BadParam('readToken', `is taken only by reads of one shipment (${SHIPMENT_READS.join(', ')})`);
      const token = ofShipment ? parseReadTokenParam(readTokens, req.params.id) : undefined;
      const [reached, waited] = await Promise.all([
        token && deps.versions.wait(token, deps.waitForTimeoutMs).then((result) => ({ ...result, token })),
        positions.length ? deps.waiter.wait(positions, deps.waitForTimeoutMs) : undefined,
      ]);
      if (reached?.timedOut || waited?.timedOut) {
        const behind = [
          ...(reached?.timedOut ? [`shipment ${reached.token.shipmentId} at version ${reached.token.version} (it holds ${reached.version})`] : []),
          ...(waited?.timedOut ? ['every waitFor position'] : []),
        ];
        res.status(504).json({
          error: 'WAIT_FOR_TIMEOUT',
          message: `the ledger did not reach ${behind.join(' or ')} within ${deps.waitForTimeoutMs} ms; retry later`,
          waitingFor: positions.map((p) => `${p.topic}:${p.partition}:${p.offset}`),
          ...(reached ? { readToken: readTokens[0], projectedVersion: reached.version } : {}),
          meta: { offsets: waited?.offsets ?? (await deps.reader.offsets()) },
        });
        return;
      }
      // NOTE: the offsets are read before the data: the HGETALL is sent first on the one Redis
      // connection, which answers in order, so it needs no round trip of its own.
      const offsetsRead: Promise<ReflectedOffsets> = waited ? Promise.resolve(waited.offsets) : deps.reader.offsets();
      offsetsRead.catch(() => undefined);
      const answer = await handler(req);
      const offsets = await offsetsRead;
      res.status(answer.status ?? 200).json({ ...answer.body, meta: { offsets } });
    } catch (err) {
      if (err instanceof BadParam) return void res.status(400).json({ error: 'BAD_REQUEST', param: err.param, message: `${err.param} ${err.message}` });
      if (err instanceof InvalidQueryError) return void res.status(400).json({ error: 'BAD_REQUEST', param: err.param, message: `${err.param}: ${err.reason}` });
      if (err instanceof NotFound) return void res.status(404).json({ error: err.error, message: err.message, ...err.extra });
      if (err instanceof ArchivedHistoryUnavailableError) {
        res.setHeader('Retry-After', '1');
        return void res.status(503).json({ error: err.code, message: err.message });
      }
      next(err);
    }
  };
  const query = (path: QueryPath, handler: (req: Request) => Promise<Answer>) => router.get(path, anyone, read(path, handler));
  // Events as answered: a fact that broke a rule comes with the event it was judged against.
  const eventsView = async (docs: readonly EventDoc[]) => {
    const previous = await deps.reader.judgedAfter(docs);
    return docs.map((doc) => eventView(doc, previous.get(doc.eventId)));
  };

  query('/shipments', async (req) => {
    const page = await deps.reader.listShipments({
      status: oneOf(req, 'status', SHIPMENT_STATUSES),
      q: text(req, 'q', 100),
      cursor: text(req, 'cursor', 512),
      limit: limit(req),
    });
    return { body: { items: page.items.map(summaryView), nextCursor: page.nextCursor } };
  });

  query('/stats/status-counts', async () => {
    const counts = await deps.reader.statusCounts();
    return { body: { counts, total: Object.values(counts).reduce((a, b) => a + b, 0) } };
  });

  query('/shipments/:id', async (req) => {
    const asOf = instant(req, 'asOf');
    const knownAt = instant(req, 'knownAt');
    const id = req.params.id;
    if (asOf === undefined && knownAt === undefined) {
      const summary = await deps.reader.shipment(id);
      if (!summary) throw new NotFound('NOT_FOUND', `no shipment ${id}`);
      return { body: shipmentView(summary) };
    }
    const at = await deps.reader.stateAt(id, { asOf, knownAt });
    if (at.kind === 'unknown') throw new NotFound('NOT_FOUND', `no shipment ${id}`);
    if (at.kind === 'not-yet-recorded') {
      throw new NotFound('NOT_YET_RECORDED', `Waybill had recorded nothing of shipment ${id} yet at ${iso(knownAt ?? 0)}`, {
        firstRecordedAt: at.firstRecordedAt === null ? null : iso(at.firstRecordedAt),
      });
    }
    if (at.kind === 'not-yet-created') {
      const known = knownAt === undefined ? '' : ` as Waybill knew it at ${iso(knownAt)}`;
      throw new NotFound('NOT_YET_CREATED', `shipment ${id} did not exist yet at ${iso(asOf ?? 0)}${known}`, { createdAt: iso(at.createdAt) });
    }
    return {
      body: {
        shipmentId: id,
        asOf: asOf === undefined ? null : iso(asOf),
        knownAt: knownAt === undefined ? null : iso(knownAt),
        status: at.state.status,
        version: at.version,
        state: at.state,
        inEffect: { throughVersion: at.throughVersion, alsoVersions: at.alsoInEffect },
        reordered: at.reordered,
        folded: { fromSnapshotVersion: at.snapshotVersion, events: at.eventsFolded },
      },
    };
  });

  query('/shipments/:id/events', async (req) => {
    const id = req.params.id;
    if (!(await deps.reader.shipment(id))) throw new NotFound('NOT_FOUND', `no shipment ${id}`);
    const events = await deps.reader.shipmentEvents(id);
    return { body: { shipmentId: id, items: await eventsView(events) } };
  });

  query('/shipments/:id/diff', async (req) => {
    const from = requiredInstant(req, 'from');
    const to = requiredInstant(req, 'to');
    const knownAt = instant(req, 'knownAt');
    if (from > to) throw new BadParam('to', 'must not be before from');
    const id = req.params.id;
    const diff = await deps.reader.diff(id, from, to, knownAt);
    if (!diff) throw new NotFound('NOT_FOUND', `no shipment ${id}`);
    const side = (at: number, s: typeof diff.from) =>
      s.kind === 'state' ? { at: iso(at), exists: true, version: s.version, status: s.state.status } : { at: iso(at), exists: false, version: 0, status: null };
    return {
      body: { shipmentId: id, knownAt: knownAt === undefined ? null : iso(knownAt), from: side(from, diff.from), to: side(to, diff.to), changes: diff.changes, events: await eventsView(diff.events) },
    };
  });

  query('/events', async (req) => {
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
    return { body: { items: await eventsView(page.items), nextCursor: page.nextCursor } };
  });

  query('/events/:eventId', async (req) => {
    const found = await deps.reader.event(req.params.eventId);
    if (!found) throw new NotFound('NOT_FOUND', `no event ${req.params.eventId}`);
    const [event] = await eventsView([found.event]);
    return {
      body: {
        event,
        previous: found.previous && eventView(found.previous),
        next: found.next && eventView(found.next),
      },
    };
  });

  query('/traces/:traceId', async (req) => {
    const trace = await deps.reader.trace(req.params.traceId);
    if (trace.items.length === 0) throw new NotFound('NOT_FOUND', `nothing recorded for trace ${req.params.traceId}`);
    return { body: { traceId: req.params.traceId, items: trace.items.map(traceItemView), truncated: trace.truncated } };
  });

  query('/alerts', async (req) => {
    const page = await deps.reader.alerts({ cursor: text(req, 'cursor', 512), limit: limit(req) });
    const acks = await deps.acks.of(page.items.map((a) => a.eventId));
    return { body: { items: page.items.map((a, i) => alertView(a, acks[i])), nextCursor: page.nextCursor } };
  });

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
      pathIds(req);
      const outcome = await deps.reader.outcome(req.params.id);
      if (!outcome || !outcome.alert) return void res.status(404).json({ error: 'NOT_FOUND', message: `no alert ${req.params.id}` });
      const principal = principalOf(req);
      const { ack, first } = await deps.acks.acknowledge(outcome.eventId, { by: principal.id, role: principal.role, at: new Date().toISOString() });
      if (first) await deps.stream.publish('ack', { id: outcome.eventId, acknowledgedBy: ack.by, acknowledgedAt: ack.at });
      res.status(200).json({ ...alertView(outcome, ack), alreadyAcknowledged: !first, meta: { offsets: await deps.reader.offsets() } });
    } catch (err) {
      if (err instanceof BadParam) return void res.status(400).json({ error: 'BAD_REQUEST', param: err.param, message: `${err.param} ${err.message}` });
      next(err);
    }
  });

  query('/accounts/:id', async (req) => {
    const account = await deps.reader.account(req.params.id);
    if (!account) throw new NotFound('NOT_FOUND', `no account ${req.params.id}`);
    return { body: accountView(account) };
  });

  query('/accounts/:id/transactions', async (req) => {
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
  });

  return router;
}

