import { Router, type Request, type Response } from 'express';
import { BadRequest, guard, objectBody, optionalToken, pathId, sendPending, sendReply } from '@waybill/command-gateway';
import { principalOf, requireRole, ROLES } from '@waybill/platform';
import { isAccountId, type AccountingService, type MoneyRequestKind, type MoneyResult } from '../accounting-service';
import { BalancesUnavailable, type BalanceClient, type Credentials } from '../balance-client';

/** account-reducer answers a read at once; a read with a readToken waits inside it, not here. */
const BALANCE_READ_TIMEOUT_MS = 10_000;

function credentialsOf(req: Request): Credentials {
  const key = req.header('x-api-key');
  const authorization = req.header('authorization');
  return { ...(key ? { 'x-api-key': key } : {}), ...(authorization ? { authorization } : {}) };
}

const REJECTION_STATUS: Record<string, number> = {
  VALIDATION: 400,
  CURRENCY_MISMATCH: 400,
  NOT_FOUND: 404,
};

function send(res: Response, result: MoneyResult): void {
  sendReply(res, result, ({ tracked: { outcome, position }, balance }) => {
    const common = { commandId: outcome.commandId, transactionId: outcome.transactionId, accountId: outcome.accountId, traceId: outcome.traceId, version: outcome.version };
    if (outcome.status === 'Recorded') {
      res
        .status(201)
        .location(`/accounts/${encodeURIComponent(outcome.accountId)}/transactions`)
        .json({ status: 'recorded', ...common, readToken: `${outcome.accountId}@${outcome.version}`, position, ...(balance ? { balanceMinor: balance.balanceMinor, currency: balance.currency, balanceVersion: balance.version } : {}) });
      return;
    }
    if (outcome.status === 'Duplicate') {
      res.status(200).json({ status: 'duplicate', ...common, message: 'this transaction was already booked; nothing changed' });
      return;
    }
    const code = outcome.code ?? 'REJECTED';
    res.status(REJECTION_STATUS[code] ?? 422).json({ status: 'rejected', error: code, message: outcome.reason ?? 'rejected', fieldErrors: outcome.fieldErrors, ...common });
  });
}

/**
 * POST /accounts/:accountId/payments, POST /accounts/:accountId/adjustments (finance),
 * GET /commands/:commandId, GET /accounts/:accountId, GET /accounts/:accountId/transactions (any role).
 * Mounted behind the API-key middleware; `initiatedBy` is the key's principal, whatever the body says.
 */
export function accountingRoutes(service: AccountingService, balances: BalanceClient): Router {
  const router = Router();
  const finance = requireRole('finance');
  const anyone = requireRole(...ROLES);

  const money = (kind: MoneyRequestKind) =>
    guard(async (req, res) => {
      const result = await service.send({
        principal: principalOf(req),
        accountId: req.params.accountId,
        kind,
        body: objectBody(req),
        idempotencyKey: optionalToken(req, 'idempotency-key'),
        traceId: optionalToken(req, 'x-trace-id'),
        credentials: credentialsOf(req),
      });
      send(res, result);
    });

  router.post('/accounts/:accountId/payments', finance, money('Payment'));
  router.post('/accounts/:accountId/adjustments', finance, money('Adjustment'));

  router.get(
    '/commands/:commandId',
    anyone,
    guard(async (req, res) => {
      const commandId = pathId(req, 'commandId');
      const found = await service.lookup(commandId);
      if (found.kind === 'unknown') return void res.status(404).json({ error: 'NOT_FOUND', message: 'no accounting command with this id' });
      if (found.kind === 'pending') return sendPending(res, commandId, found.pending);
      send(res, { kind: 'answered', commandId, tracked: found.tracked });
    }),
  );

  // account-reducer owns balances: the reads are passed on, query and all, with the caller's key.
  // The path is rebuilt from the checked id, never copied: "/accounts/.." must not become "/".
  const forward = (suffix: string) =>
    guard(async (req, res) => {
      const { accountId } = req.params;
      if (!isAccountId(accountId)) throw new BadRequest([{ field: 'accountId', message: 'must be 1 to 64 letters, digits, ".", "_" or "-"' }]);
      const query = req.originalUrl.indexOf('?');
      const path = `/accounts/${encodeURIComponent(accountId)}${suffix}${query >= 0 ? req.originalUrl.slice(query) : ''}`;
      try {
        const answer = await balances.forward(path, credentialsOf(req), BALANCE_READ_TIMEOUT_MS);
        if (answer.etag) res.setHeader('ETag', answer.etag);
        res.status(answer.status).json(answer.body);
      } catch (err) {
        if (!(err instanceof BalancesUnavailable)) throw err;
        res.status(503).set('Retry-After', '1').json({ error: 'UNAVAILABLE', message: 'balances are unavailable right now (account-reducer did not answer); try again' });
      }
    });
  router.get('/accounts/:accountId', anyone, forward(''));
  router.get('/accounts/:accountId/transactions', anyone, forward('/transactions'));

  return router;
}
