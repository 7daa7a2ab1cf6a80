import { Router, type Request } from 'express';
import { parseInstant } from '@waybill/util';
import { BadRequest, guard } from '@waybill/command-gateway';
import { requireRole, ROLES } from '@waybill/platform';
import type { TransactionEntry } from '../read-model';
import { ArchivedTransactionsUnavailableError, type BalanceReads } from '../balance-reads';

const ACCOUNT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const READ_TOKEN = /^([A-Za-z0-9][A-Za-z0-9._-]{0,63})@(\d{1,15})$/;

function accountParam(req: Request): string {
  const { accountId } = req.params;
  if (!ACCOUNT_ID.test(accountId)) throw new BadRequest([{ field: 'accountId', message: 'must be 1 to 64 letters, digits, ".", "_" or "-"' }]);
  return accountId;
}

function asOfParam(req: Request): number | undefined {
  const raw = req.query.asOf;
  if (raw === undefined) return undefined;
  const at = typeof raw === 'string' ? parseInstant(raw) : undefined;
  if (at === undefined) throw new BadRequest([{ field: 'asOf', message: 'must be an ISO-8601 instant with a zone on a calendar that exists, e.g. 2025-01-31T12:00:00Z' }]);
  return at;
}

/** `readToken=<accountId>@<version>`: what a Recorded answer hands out; the read waits for that version. */
function readTokenParam(req: Request, accountId: string): number | undefined {
  const raw = req.query.readToken;
  if (raw === undefined) return undefined;
  const match = typeof raw === 'string' ? READ_TOKEN.exec(raw) : null;
  if (!match || match[1] !== accountId) throw new BadRequest([{ field: 'readToken', message: `must be ${accountId}@<version>, as a Recorded answer gives it` }]);
  return Number(match[2]);
}

function intParam(req: Request, name: string, min: number, max: number): number | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new BadRequest([{ field: name, message: `must be a whole number from ${min} to ${max}` }]);
  return value;
}

function cause(entry: TransactionEntry) {
  return entry.shipmentId !== null
    ? { type: 'shipment' as const, shipmentId: entry.shipmentId, eventId: entry.sourceEventId, initiatedBy: entry.initiatedBy, traceId: entry.traceId }
    : { type: 'request' as const, commandId: entry.causationId, initiatedBy: entry.initiatedBy, traceId: entry.traceId };
}

const transactionView = (entry: TransactionEntry) => ({ ...entry, at: new Date(entry.timestamp).toISOString(), cause: cause(entry) });

/**
 * GET /accounts/:accountId[?asOf=|readToken=], GET /accounts/:accountId/transactions (any role).
 * The one place balances are answered from; accounting-handler passes these reads on.
 */
export function balanceRoutes(reads: BalanceReads, options: { waitForTimeoutMs: number }): Router {
  const router = Router();
  const anyone = requireRole(...ROLES);

  router.get(
    '/accounts/:accountId',
    anyone,
    guard(async (req, res) => {
      const accountId = accountParam(req);
      const asOf = asOfParam(req);
      const atLeast = readTokenParam(req, accountId);
      if (asOf !== undefined && atLeast !== undefined) throw new BadRequest([{ field: 'readToken', message: 'cannot be combined with asOf' }]);
      const found = atLeast === undefined ? await reads.account(accountId) : await reads.accountAtLeast(accountId, atLeast, Date.now() + options.waitForTimeoutMs);
      if (!found) {
        if (atLeast !== undefined) {
          return void res
            .status(504)
            .set('Retry-After', '1')
            .json({ error: 'NOT_YET', message: `account ${accountId} did not reach version ${atLeast} within ${options.waitForTimeoutMs} ms; try again` });
        }
        return void res.status(404).json({ error: 'NOT_FOUND', message: `no account ${accountId}` });
      }
      const { snapshot, reflects } = found;
      const reflected = { topic: snapshot.position.topic, partition: snapshot.position.partition, nextOffset: reflects };
      if (asOf === undefined) {
        res.setHeader('ETag', `"${snapshot.version}"`);
        res.json({
          ...snapshot,
          firstTransactionAt: new Date(snapshot.firstTransactionAt).toISOString(),
          lastTransactionAt: new Date(snapshot.lastTransactionAt).toISOString(),
          reflects: reflected,
        });
        return;
      }
      // The balance at an instant is the fold of the transactions booked by then.
      const then = await reads.balanceAsOf(accountId, asOf);
      if (!then) return void res.status(404).json({ error: 'NOT_FOUND', message: `account ${accountId} had no transactions by ${new Date(asOf).toISOString()}` });
      res.json({
        accountId,
        asOf: new Date(asOf).toISOString(),
        balanceMinor: then.balanceMinor,
        currency: then.currency,
        version: then.version,
        lastTransactionId: then.lastTransactionId,
        lastTransactionAt: new Date(then.lastTransactionAt).toISOString(),
        reflects: reflected,
      });
    }),
  );

  router.get(
    '/accounts/:accountId/transactions',
    anyone,
    guard(async (req, res) => {
      const accountId = accountParam(req);
      const limit = intParam(req, 'limit', 1, 500) ?? 50;
      const before = intParam(req, 'cursor', 1, Number.MAX_SAFE_INTEGER);
      let page: Awaited<ReturnType<BalanceReads['transactions']>>;
      try {
        page = await reads.transactions(accountId, { before, limit });
      } catch (err) {
        if (!(err instanceof ArchivedTransactionsUnavailableError)) throw err;
        return void res.status(503).set('Retry-After', '1').json({ error: err.code, message: err.message });
      }
      if (!page) return void res.status(404).json({ error: 'NOT_FOUND', message: `no account ${accountId}` });
      res.json({ accountId, items: page.items.map(transactionView), nextCursor: page.nextCursor });
    }),
  );

  return router;
}
