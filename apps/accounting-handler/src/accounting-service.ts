import { randomUUID } from 'node:crypto';
import { TOPICS, type AccountingCommand, type AccountingCommandOutcome, type Serde } from '@waybill/contracts';
import { validateTransaction, type TransactionData } from '@waybill/accounting-domain';
import { fingerprint, undeclaredFields, withoutIgnoredFields, type CommandGateway, type IdempotencyRecord, type Looked, type TrackedOutcome } from '@waybill/command-gateway';
import type { Logger, Principal, SerialProducer } from '@waybill/platform';
import { textCharacterProblem } from '@waybill/util';
import type { BalanceAfter, BalanceClient, Credentials } from './balance-client';
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
  /** The caller's own key, to ask account-reducer for the balance the booking produced. */
  credentials: Credentials;
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
  fieldErrors.push(...undeclaredFields(body, ALLOWED_FIELDS[kind], { message: `is not a field of ${kind === 'Payment' ? 'a payment' : 'an adjustment'} (${ALLOWED_FIELDS[kind].join(', ')})` }));
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
    // One-line text: no control character, no lone surrogate (the rule every front door applies).
    const problem = textCharacterProblem(value);
    if (problem) {
      fieldErrors.push({ field, message: problem });
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
 * and waits (bounded) for its answer and for the balance that includes it. Balance reads are
 * account-reducer's, passed on by the routes.
 */
export class AccountingService {
  constructor(
    private readonly deps: {
      producer: SerialProducer;
      commandsTopic: string;
      serde: Serde;
      gateway: AccountingGateway;
      balances: BalanceClient;
      outcomeWaitMs: number;
      logger: Logger;
      now?: () => number;
    },
  ) {}

  async send(request: MoneyRequest): Promise<MoneyResult> {
    const began = Date.now();
    const { principal, accountId, kind } = request;
    const body = withoutIgnoredFields(request.body);
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
    const { outcome } = submitted.tracked;
    if (outcome.status !== 'Recorded' || outcome.version === null) return submitted;
    const balance = await this.deps.balances.balanceAt(accountId, outcome.version, request.credentials, began + this.deps.outcomeWaitMs - Date.now());
    return balance ? { ...submitted, balance } : submitted;
  }

  /** The answer to an earlier command, or whether it is still pending or unknown. */
  lookup(commandId: string): Promise<Looked<AccountingCommandOutcome, PendingAccountingCommand>> {
    return this.deps.gateway.lookup(commandId);
  }
}
