import {
  TOPICS,
  type AccountingCommand,
  type AccountingCommandOutcome,
  type Serde,
  type TopicMap,
  type TransactionRecorded,
} from '@waybill/contracts';
import {
  ACCOUNT_STATE_SHAPE_VERSION,
  decideTransaction,
  evolveAccount,
  initialAccountState,
  isAccountingRejection,
  isDuplicate,
  type AccountState,
  type RecordTransaction,
} from '@waybill/accounting-domain';
import type { Logger } from '@waybill/platform';
import { decodedOnce, type InputRecord, type OutputRecord, type Processor, type StateStoreDefinition } from '@waybill/streams';

/** What the store holds under a key: an account's state, or the mark that an id was booked on it. */
export type AccountStoreValue = AccountState | BookedMark;

/** Under {@link bookedKey}: the account booked this transaction id, at this version. */
export interface BookedMark {
  bookedAtVersion: number;
}

/**
 * The store key saying whether `accountId` booked `transactionId`. '#' never occurs in an account id
 * (letters, digits, '.', '_', '-'), so it cannot collide with an account's own key.
 */
export const bookedKey = (accountId: string, transactionId: string): string => `#booked:${accountId}:${transactionId}`;

const isAccount = (value: AccountStoreValue | undefined): value is AccountState => value !== undefined && 'balanceMinor' in value;

/**
 * The store: its changelog is `accounting.transactions`. Each TransactionRecorded folds into its
 * account (the domain's `evolveAccount`) and marks its transaction id booked under its own key, so
 * a duplicate is found by one lookup, however long the account's history is.
 */
export function accountStore(serde: Serde, topics: TopicMap): StateStoreDefinition<AccountStoreValue> {
  // Restore and the live path ask for the same record twice (its keys, then each fold).
  const transactionOf = decodedOnce(async (value) => (await serde.decode(value, TOPICS.accountingTransactions)).value as TransactionRecorded);
  return {
    name: 'accounts',
    changelogTopic: topics.accountingTransactions,
    // Bump with the domain's state shape or this wrapper's (2: booked ids under their own keys).
    shapeVersion: ACCOUNT_STATE_SHAPE_VERSION * 100 + 2,
    async alsoUpdates(record) {
      const event = await transactionOf(record);
      return [bookedKey(event.aggregateId, event.data.transactionId)];
    },
    async apply(state, record, key) {
      const event = await transactionOf(record);
      if (key !== record.key) return { bookedAtVersion: event.version };
      return evolveAccount(isAccount(state) ? state : initialAccountState(event.aggregateId), { type: 'TransactionRecorded', data: event.data });
    },
    // A transaction carries its own time and version; where the broker put it changes nothing.
    ignoresPosition: true,
    serialize: (state) => JSON.stringify(state),
    deserialize: (text) => JSON.parse(text) as AccountStoreValue,
  };
}

function toDomain(command: AccountingCommand): RecordTransaction {
  return {
    type: 'RecordTransaction',
    data: command.data,
    metadata: {
      commandId: command.commandId,
      initiatedBy: command.initiatedBy,
      role: command.role,
      traceId: command.traceId,
      ...(command.causationId !== null ? { causationId: command.causationId } : {}),
      now: command.timestamp,
    },
  };
}

/**
 * Decides one accounting command on its account and answers it on `accounting.outcomes`, in the
 * same Kafka transaction as what it books: Recorded (after the `TransactionRecorded`, the account's
 * next version), Duplicate or Rejected. An answer the caller waits for is never written beside
 * the transaction, so a crash can lose neither one without the other.
 */
export function transactionProcessor(serde: Serde, topics: TopicMap, logger: Logger, now: () => number = Date.now): Processor<AccountStoreValue> {
  // keysToRead and process see the same record: decode it once.
  const commandOf = decodedOnce(async (value) => (await serde.decode(value, TOPICS.accountingCommands)).value as AccountingCommand);
  return {
    async keysToRead(record) {
      const { data } = await commandOf(record);
      return [bookedKey(data.accountId, data.transactionId)];
    },
    async process(record: InputRecord, ctx): Promise<OutputRecord[]> {
      const command = await commandOf(record);
      const { accountId, transactionId } = command.data;
      const answer = async (outcome: Pick<AccountingCommandOutcome, 'status' | 'version'> & Partial<AccountingCommandOutcome>): Promise<OutputRecord> => {
        const value: AccountingCommandOutcome = {
          commandId: command.commandId,
          transactionId,
          accountId,
          code: null,
          reason: null,
          fieldErrors: [],
          traceId: command.traceId,
          sourceEventId: command.data.sourceEventId,
          timestamp: now(),
          ...outcome,
        };
        return {
          // Keyed by the record's key, so the answer shares the command's partition even when the
          // command named another account.
          topic: topics.accountingOutcomes,
          key: record.key ?? accountId,
          value: await serde.encode(TOPICS.accountingOutcomes, 'AccountingCommandOutcome', value),
          headers: { 'x-trace-id': command.traceId, 'x-event-type': 'AccountingCommandOutcome' },
        };
      };
      // The state lives under the record's key in the record's partition: a command whose key is
      // not its account would read and write an account that belongs to another partition.
      if (record.key !== accountId || command.aggregateId !== accountId) {
        logger.warn({ key: record.key, aggregateId: command.aggregateId, accountId, commandId: command.commandId }, 'command key does not match its account; rejected');
        return [
          await answer({
            status: 'Rejected',
            version: null,
            code: 'VALIDATION',
            reason: `The message key and aggregateId must be the account id ${accountId}.`,
            fieldErrors: [{ field: 'aggregateId', message: `must be ${accountId}` }],
          }),
        ];
      }

      const stored = await ctx.getState(accountId);
      const state = isAccount(stored) ? stored : initialAccountState(accountId);
      const alreadyBooked = (await ctx.getState(bookedKey(accountId, transactionId))) !== undefined;
      const decision = decideTransaction(toDomain(command), state, alreadyBooked);
      if (isDuplicate(decision)) {
        logger.info({ traceId: command.traceId, commandId: command.commandId, transactionId, accountId }, 'duplicate transaction dropped');
        return [await answer({ status: 'Duplicate', version: state.version })];
      }
      if (isAccountingRejection(decision)) {
        logger.warn(
          { traceId: command.traceId, commandId: command.commandId, transactionId, accountId, code: decision.code, role: command.role, initiatedBy: command.initiatedBy },
          `transaction refused: ${decision.reason}`,
        );
        return [await answer({ status: 'Rejected', version: state.version, code: decision.code, reason: decision.reason, fieldErrors: decision.fieldErrors })];
      }

      const outputs: OutputRecord[] = [];
      for (const [index, recorded] of decision.entries()) {
        const event: TransactionRecorded = {
          eventId: `${command.commandId}:${index}`,
          aggregateId: accountId,
          aggregateType: 'Account',
          version: state.version + index + 1,
          traceId: command.traceId,
          causationId: command.commandId,
          initiatedBy: command.initiatedBy,
          // When it was booked on the account: what `asOf` reads balances by.
          timestamp: now(),
          data: recorded.data,
        };
        outputs.push({
          topic: topics.accountingTransactions,
          key: accountId,
          value: await serde.encode(TOPICS.accountingTransactions, 'TransactionRecorded', event),
          headers: { 'x-trace-id': command.traceId, 'x-event-type': 'TransactionRecorded' },
        });
      }
      outputs.push(await answer({ status: 'Recorded', version: state.version + decision.length }));
      return outputs;
    },
  };
}
