import { Router, type Request, type Response } from 'express';
import { BadRequest, guard, objectBody, optionalToken, sendIdempotencyMismatch, sendPending, sendValidation } from '@waybill/command-gateway';
import { balanceAsOf } from '@waybill/accounting-domain';
import { requireRole, ROLES } from '@waybill/platform';
import { isAccountId, type AccountingService, type MoneyRequestKind, type MoneyResult } from '../accounting-service';
import type { TransactionEntry } from '@waybill/account-balances';

const REJECTION_STATUS: Record<string, number> = {
  VALIDATION: 400,
  CURRENCY_MISMATCH: 400,
  NOT_FOUND: 404,
};

function send(res: Response, result: MoneyResult): void {
  switch (result.kind) {
    case 'invalid':
      return sendValidation(res, result.fieldErrors);
    case 'idempotency-mismatch':
      return sendIdempotencyMismatch(res, result.commandId);
    case 'pending':
      return sendPending(res, result.commandId, result.pending);
    case 'answered': {
      const { outcome, position } = result.tracked;
      const common = { commandId: outcome.commandId, transactionId: outcome.transactionId, accountId: outcome.accountId, traceId: outcome.traceId, version: outcome.version };
      if (outcome.status === 'Recorded') {
        res
          .status(201)
          .location(`/accounts/${encodeURIComponent(outcome.accountId)}/transactions`)
          .json({ status: 'recorded', ...common, position, ...(result.balance ? { balanceMinor: result.balance.balanceMinor, currency: result.balance.currency, balanceVersion: result.balance.version } : {}) });
        return;
      }
      if (outcome.status === 'Duplicate') {
        res.status(200).json({ status: 'duplicate', ...common, message: 'this transaction was already booked; nothing changed' });
        return;
      }
      const code = outcome.code ?? 'REJECTED';
      res.status(REJECTION_STATUS[code] ?? 422).json({ status: 'rejected', error: code, message: outcome.reason ?? 'rejected', fieldErrors: outcome.fieldErrors, ...common });
      return;
    }
  }
}

function cause(entry: TransactionEntry) {
  return entry.shipmentId !== null
    ? { type: 'shipment' as const, shipmentId: entry.shipmentId, eventId: entry.sourceEventId, initiatedBy: entry.initiatedBy, traceId: entry.traceId }
    : { type: 'request' as const, commandId: entry.causationId, initiatedBy: entry.initiatedBy, traceId: entry.traceId };
}

function transactionView(entry: TransactionEntry) {
  return { ...entry, at: new Date(entry.timestamp).toISOString(), cause: cause(entry) };
}

function accountParam(req: Request): string {
  const { accountId } = req.params;
  if (!isAccountId(accountId)) throw new BadRequest([{ field: 'accountId', message: 'must be 1 to 64 letters, digits, ".", "_" or "-"' }]);
  return accountId;
}

// An instant names its offset (Z or ±hh:mm), as on the ledger: `Date.parse` alone would take
// "1" for 2001-01-01 and "March 7" for a local time the reader never meant.
const ISO_INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$/;

function asOfParam(req: Request): number | undefined {
  const raw = req.query.asOf;
  if (raw === undefined) return undefined;
  const at = typeof raw === 'string' && ISO_INSTANT.test(raw) ? Date.parse(raw) : NaN;
  if (Number.isNaN(at)) throw new BadRequest([{ field: 'asOf', message: 'must be an ISO-8601 instant with a zone, e.g. 2025-01-31T12:00:00Z' }]);
  return at;
}

function intParam(req: Request, name: string, min: number, max: number): number | undefined {
  const raw = req.query[name];
  if (raw === undefined) return undefined;
  const value = typeof raw === 'string' && /^\d{1,15}$/.test(raw) ? Number(raw) : NaN;
  if (!(value >= min && value <= max)) throw new BadRequest([{ field: name, message: `must be a whole number from ${min} to ${max}` }]);
  return value;
}

/**
 * POST /accounts/:accountId/payments, POST /accounts/:accountId/adjustments (finance),
 * GET /commands/:commandId, GET /accounts/:accountId, GET /accounts/:accountId/transactions (any role).
 * Mounted behind the API-key middleware; `initiatedBy` is the key's principal, whatever the body says.
 */
export function accountingRoutes(service: AccountingService): Router {
  const router = Router();
  const finance = requireRole('finance');
  const anyone = requireRole(...ROLES);

  const money = (kind: MoneyRequestKind) =>
    guard(async (req, res) => {
      const result = await service.send({
        principal: req.principal!,
        accountId: req.params.accountId,
        kind,
        body: objectBody(req),
        idempotencyKey: optionalToken(req, 'idempotency-key'),
        traceId: optionalToken(req, 'x-trace-id'),
      });
      send(res, result);
    });

  router.post('/accounts/:accountId/payments', finance, money('Payment'));
  router.post('/accounts/:accountId/adjustments', finance, money('Adjustment'));

  router.get(
    '/commands/:commandId',
    anyone,
    guard(async (req, res) => {
      const { commandId } = req.params;
      const found = await service.lookup(commandId);
      if (found.kind === 'unknown') return void res.status(404).json({ error: 'NOT_FOUND', message: 'no accounting command with this id' });
      if (found.kind === 'pending') return sendPending(res, commandId, found.pending);
      send(res, { kind: 'answered', commandId, tracked: found.tracked });
    }),
  );

  router.get(
    '/accounts/:accountId',
    anyone,
    guard(async (req, res) => {
      const accountId = accountParam(req);
      const asOf = asOfParam(req);
      const found = await service.account(accountId);
      if (!found) return void res.status(404).json({ error: 'NOT_FOUND', message: `no account ${accountId}` });
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
      const entries = await service.allTransactions(accountId);
      const then = balanceAsOf(entries.map((e) => ({ version: e.version, timestamp: e.timestamp, data: { ...e, accountId } })), asOf);
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
      const found = await service.account(accountId);
      if (!found) return void res.status(404).json({ error: 'NOT_FOUND', message: `no account ${accountId}` });
      const page = await service.transactions(accountId, { before, limit });
      res.json({ accountId, items: page.items.map(transactionView), nextCursor: page.nextCursor });
    }),
  );

  return router;
}
