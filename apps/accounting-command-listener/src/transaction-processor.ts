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
import type { InputRecord, OutputRecord, Processor, StateStoreDefinition } from '@waybill/streams';

/** The store: its changelog is `accounting.transactions`, folded with the domain's own `evolveAccount`. */
export function accountStore(serde: Serde, topics: TopicMap): StateStoreDefinition<AccountState> {
  return {
    name: 'accounts',
    changelogTopic: topics.accountingTransactions,
    // Bump with the domain's state shape or this wrapper's (there is none yet: the state is the domain's).
    shapeVersion: ACCOUNT_STATE_SHAPE_VERSION * 100 + 1,
    async apply(state, record) {
      const decoded = await serde.decode(record.value, TOPICS.accountingTransactions);
      const event = decoded.value as TransactionRecorded;
      return evolveAccount(state ?? initialAccountState(event.aggregateId), { type: 'TransactionRecorded', data: event.data });
    },
    // A transaction carries its own time and version; where the broker put it changes nothing.
    ignoresPosition: true,
    serialize: (state) => JSON.stringify(state),
    deserialize: (text) => JSON.parse(text) as AccountState,
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
export function transactionProcessor(serde: Serde, topics: TopicMap, logger: Logger, now: () => number = Date.now): Processor<AccountState> {
  return {
    async process(record: InputRecord, ctx): Promise<OutputRecord[]> {
      const decoded = await serde.decode(record.value, TOPICS.accountingCommands);
      const command = decoded.value as AccountingCommand;
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

      const state = (await ctx.getState(accountId)) ?? initialAccountState(accountId);
      const decision = decideTransaction(toDomain(command), state);
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
