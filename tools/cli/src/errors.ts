import { WaybillError, type ErrorContext } from '@waybill/util';

/**
 * Errors the CLI turns into an exit code. `exitCode` lives on the error so `main` needs no table:
 * 2 means "the command line itself is wrong" (like commander's own errors), 1 means "the command
 * was fine but could not be carried out".
 */
export abstract class CliError extends WaybillError {
  readonly exitCode: 1 | 2 = 1;
}

/** The arguments are malformed: a bad duration, datetime, number or topic spec. */
export class UsageError extends CliError {
  readonly code = 'CLI_USAGE';
  override readonly exitCode = 2;

  /** `argument` names the option at fault, so the operator knows which flag to fix. */
  constructor(
    readonly argument: string,
    message: string,
    context: ErrorContext = {},
  ) {
    super(`${argument}: ${message}`, { argument, ...context });
  }
}

/** The group has live members; moving offsets under them would be overwritten by their next commit. */
export class GroupActiveError extends CliError {
  readonly code = 'GROUP_ACTIVE';
}

/** A topic or partition named on the command line does not exist on the cluster. */
export class UnknownTopicError extends CliError {
  readonly code = 'UNKNOWN_TOPIC';
}

/** --reset-shift-by needs a committed offset to shift from, and some partition has none. */
export class NoCommittedOffsetError extends CliError {
  readonly code = 'NO_COMMITTED_OFFSET';
}

/** --all-topics on a group that has never committed anything: there is nothing to reset. */
export class NothingToResetError extends CliError {
  readonly code = 'NOTHING_TO_RESET';
}

/** The broker answered with something the tool cannot use (for example a missing partition offset). */
export class KafkaRequestError extends CliError {
  readonly code = 'KAFKA_REQUEST_FAILED';
}

/** The operator answered anything but "yes" to a destructive command: nothing changed. */
export class AbortedError extends CliError {
  readonly code = 'ABORTED';
}

/** `verify` found the live read model differs from a replay of the topics. */
export class ReadModelMismatchError extends CliError {
  readonly code = 'READ_MODEL_MISMATCH';
}

/** A service the command needs (Kafka, the registry, the ledger) cannot be reached or refused us. */
export class ConnectionError extends CliError {
  readonly code = 'CONNECTION_FAILED';
  override readonly exitCode = 2;
}

/** The input file cannot be read as the format it claims, or has rows that cannot be recorded. */
export class BadInputError extends CliError {
  readonly code = 'BAD_INPUT';
}
