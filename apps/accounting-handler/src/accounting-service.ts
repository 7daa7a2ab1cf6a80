import { randomUUID } from 'node:crypto';
import type Redis from 'ioredis';
import { TOPICS, type AccountingCommand, type AccountingCommandOutcome, type Serde } from '@waybill/contracts';
import { validateTransaction, type TransactionData } from '@waybill/accounting-domain';
import { fingerprint, type CommandGateway, type IdempotencyRecord, type Looked, type TrackedOutcome } from '@waybill/command-gateway';
import type { Logger, Principal, SerialProducer } from '@waybill/platform';
import { readModelKeys, type AccountSnapshot, type TransactionEntry } from '@waybill/account-balances';
import { idempotentTransactionId } from './idempotency';

/** What an Idempotency-Key remembers of the accounting command it was used for. */
export interface AccountingClaim extends IdempotencyRecord {
  accountId: string;
  transactionId: string;
}

/** What a poll of a pending accounting command reports. */
export interface PendingAccountingCommand {
  accountId: string;
  transactionId: string;
  traceId: string;
}

export type AccountingGateway = CommandGateway<AccountingCommandOutcome, AccountingClaim, PendingAccountingCommand>;
export type TrackedAccountingOutcome = TrackedOutcome<AccountingCommandOutcome>;

export interface FieldError {
  field: string;
  message: string;
}

export type MoneyRequestKind = 'Payment' | 'Adjustment';

export interface MoneyRequest {
  principal: Principal;
  accountId: string;
  kind: MoneyRequestKind;
  body: Record<string, unknown>;
  idempotencyKey?: string;
  traceId?: string;
}

/** The balance a Recorded answer carries once the account-reducer reflects it. */
export interface BalanceAfter {
  balanceMinor: number;
  currency: string;
  version: number;
}

export type MoneyResult =
  | { kind: 'invalid'; fieldErrors: FieldError[] }
  | { kind: 'idempotency-mismatch'; commandId: string }
  | { kind: 'answered'; commandId: string; tracked: TrackedAccountingOutcome; balance?: BalanceAfter }
  | { kind: 'pending'; commandId: string; pending: PendingAccountingCommand };

const ACCOUNT_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;
const ALLOWED_FIELDS: Record<MoneyRequestKind, readonly string[]> = {
  Payment: ['amountMinor', 'currency', 'reference'],
  Adjustment: ['amountMinor', 'currency', 'reason'],
};

export function isAccountId(value: string): boolean {
  return ACCOUNT_ID.test(value);
}

/**
 * Checks a payment or adjustment request and turns it into the transaction to book, naming every
 * bad field. A payment is what the customer paid (a positive amount); it is stored with the
 * domain's sign (a negative change to what is owed), and its `reference` is kept as the reason.
 */
export function toTransaction(kind: MoneyRequestKind, accountId: string, body: Record<string, unknown>, transactionId: string): { data?: TransactionData; fieldErrors: FieldError[] } {
  const fieldErrors: FieldError[] = [];
  if (!isAccountId(accountId)) fieldErrors.push({ field: 'accountId', message: 'must be 1 to 64 letters, digits, ".", "_" or "-"' });
  for (const field of Object.keys(body)) {
    if (!ALLOWED_FIELDS[kind].includes(field)) fieldErrors.push({ field, message: `is not a field of ${kind === 'Payment' ? 'a payment' : 'an adjustment'} (${ALLOWED_FIELDS[kind].join(', ')})` });
  }
  const { amountMinor } = body;
  const whole = typeof amountMinor === 'number' && Number.isSafeInteger(amountMinor);
  if (!whole) fieldErrors.push({ field: 'amountMinor', message: 'must be a whole number of minor units (no fractions, no strings)' });
  else if (kind === 'Payment' && (amountMinor as number) <= 0) fieldErrors.push({ field: 'amountMinor', message: 'must be the positive amount the customer paid' });
  const text = (field: string): string | null | undefined => {
    const value = body[field];
    if (value === undefined || value === null) return value as null | undefined;
    if (typeof value !== 'string' || value.trim() === '' || value.length > 200) {
      fieldErrors.push({ field, message: 'must be a non-empty string of at most 200 characters' });
      return undefined;
    }
    return value;
  };
  const reference = kind === 'Payment' ? text('reference') : undefined;
  const reason = kind === 'Adjustment' ? text('reason') : undefined;
  const data: TransactionData = {
    transactionId,
    accountId,
    kind,
    amountMinor: whole ? (kind === 'Payment' ? -(amountMinor as number) : (amountMinor as number)) : (amountMinor as number),
    currency: body.currency as string,
    reason: (kind === 'Payment' ? reference : reason) ?? null,
    shipmentId: null,
    sourceEventId: null,
  };
  // The domain's rules on top (currency code, sign per kind, a reason for adjustments); a field
  // already named above is not named twice.
  for (const error of validateTransaction(data)) {
    if (!fieldErrors.some((f) => f.field === error.field)) fieldErrors.push(error);
  }
  return fieldErrors.length ? { fieldErrors } : { data, fieldErrors };
}

/**
 * Turns an authenticated finance request into an `AccountingCommand` on `accounting.commands`
 * and waits (bounded) for its answer and for the balance that includes it. Reads serve the
 * account-reducer's balances.
 */
export class AccountingService {
  private readonly keys: ReturnType<typeof readModelKeys>;

  constructor(
    private readonly deps: {
      producer: SerialProducer;
      commandsTopic: string;
      topicPrefix: string;
      serde: Serde;
      gateway: AccountingGateway;
      redis: Redis;
      outcomeWaitMs: number;
      logger: Logger;
      now?: () => number;
    },
  ) {
    this.keys = readModelKeys(deps.topicPrefix);
  }

  async send(request: MoneyRequest): Promise<MoneyResult> {
    const began = Date.now();
    const { principal, accountId, kind } = request;
    const { initiatedBy: _ignored, ...body } = request.body;
    const traceId = request.traceId ?? randomUUID();
    const commandId = randomUUID();
    const transactionId = request.idempotencyKey ? idempotentTransactionId(principal.id, request.idempotencyKey, accountId) : `http:${randomUUID()}`;
    const { data, fieldErrors } = toTransaction(kind, accountId, body, transactionId);
    if (!data) return { kind: 'invalid', fieldErrors };

    const command: AccountingCommand = {
      commandId,
      aggregateId: accountId,
      aggregateType: 'Account',
      expectedVersion: null,
      traceId,
      causationId: null,
      initiatedBy: principal.id,
      role: principal.role,
      timestamp: (this.deps.now ?? Date.now)(),
      data,
    };
    const value = await this.deps.serde.encode(TOPICS.accountingCommands, 'AccountingCommand', command);
    const submitted = await this.deps.gateway.submit({
      principal: principal.id,
      commandId,
      idempotencyKey: request.idempotencyKey,
      claim: { commandId, accountId, transactionId, fingerprint: fingerprint([accountId, kind, data.amountMinor, data.currency, data.reason]) },
      pending: { accountId, transactionId, traceId },
      produce: async () => {
        await this.deps.producer.send(this.deps.commandsTopic, { key: accountId, value, headers: { 'x-trace-id': traceId, 'x-command-type': 'AccountingCommand' } });
        this.deps.logger.info({ traceId, commandId, accountId, transactionId, kind, initiatedBy: principal.id }, 'accounting command produced');
      },
    });
    if (submitted.kind !== 'answered') return submitted;
    return { ...submitted, balance: await this.balanceAfter(submitted.tracked.outcome, began + this.deps.outcomeWaitMs) };
  }

  /** The answer to an earlier command, or whether it is still pending or unknown. */
  lookup(commandId: string): Promise<Looked<AccountingCommandOutcome, PendingAccountingCommand>> {
    return this.deps.gateway.lookup(commandId);
  }

  /** The account's balance as the account-reducer reflects it, with the offset it reflects. */
  async account(accountId: string): Promise<{ snapshot: AccountSnapshot; reflects: string | null } | undefined> {
    const text = await this.deps.redis.get(this.keys.account(accountId));
    if (!text) return undefined;
    const snapshot = JSON.parse(text) as AccountSnapshot;
    const reflects = await this.deps.redis.hget(this.keys.offsets, String(snapshot.position.partition));
    return { snapshot, reflects };
  }

  /** Every transaction of the account in version order (an empty list for an unknown account). */
  async allTransactions(accountId: string): Promise<TransactionEntry[]> {
    return (await this.deps.redis.zrange(this.keys.transactions(accountId), '0', '-1')).map((text) => JSON.parse(text) as TransactionEntry);
  }

  /** A page of transactions, newest first, below version `before` (exclusive). */
  async transactions(accountId: string, options: { before?: number; limit: number }): Promise<{ items: TransactionEntry[]; nextCursor: string | null }> {
    const max = options.before === undefined ? '+inf' : `(${options.before}`;
    const texts = await this.deps.redis.zrevrangebyscore(this.keys.transactions(accountId), max, '-inf', 'LIMIT', '0', String(options.limit + 1));
    const items = texts.slice(0, options.limit).map((text) => JSON.parse(text) as TransactionEntry);
    return { items, nextCursor: texts.length > options.limit ? String(items[items.length - 1].version) : null };
  }

  /**
   * The balance that includes a Recorded command: waits (until `deadline`) for the account-reducer
   * to reflect the account's version the outcome names, then reads it.
   */
  private async balanceAfter(outcome: AccountingCommandOutcome, deadline: number): Promise<BalanceAfter | undefined> {
    if (outcome.status !== 'Recorded' || outcome.version === null) return undefined;
    for (;;) {
      const found = await this.account(outcome.accountId);
      if (found && found.snapshot.version >= outcome.version) {
        return { balanceMinor: found.snapshot.balanceMinor, currency: found.snapshot.currency, version: found.snapshot.version };
      }
      if (Date.now() >= deadline) return undefined;
      await new Promise((r) => setTimeout(r, 25));
    }
  }
}
