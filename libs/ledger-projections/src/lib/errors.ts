import { WaybillError, type ErrorContext } from '@waybill/util';

/**
 * The batch's reads went stale before its write landed (another writer changed a key it depends
 * on) more often than the retry budget allows. Retriable: the next attempt reads afresh.
 */
export class ProjectionConflictError extends WaybillError {
  readonly code = 'PROJECTION_CONFLICT';
  override readonly retriable = true;

  constructor(attempts: number, context: ErrorContext = {}) {
    super(`the read model changed under the batch ${attempts} times in a row`, { ...context, attempts });
  }
}

/** A stored read-model value that is not what this version of the projection writes. */
export class CorruptReadModelError extends WaybillError {
  readonly code = 'CORRUPT_READ_MODEL';

  constructor(key: string, options?: { cause?: unknown }) {
    super(`the value at ${key} is not a read-model document`, { key }, options);
  }
}

/** A `waitFor` position, cursor or instant that cannot be parsed; `param` names the query parameter. */
export class InvalidQueryError extends WaybillError {
  readonly code = 'INVALID_QUERY';

  constructor(
    readonly param: string,
    readonly reason: string,
  ) {
    super(`${param}: ${reason}`, { param });
  }
}

/**
 * An archived shipment's events, or an account's archived transactions, could not be read back from
 * Kafka (the broker is away, or the topic no longer holds them): that history is unavailable right
 * now; current state and balances are not.
 */
export class ArchivedHistoryUnavailableError extends WaybillError {
  readonly code = 'ARCHIVED_HISTORY_UNAVAILABLE';
  override readonly retriable = true;

  constructor(of: { shipmentId: string } | { accountId: string }, reason: string, options?: { cause?: unknown }) {
    super(`the archived history of ${'shipmentId' in of ? `shipment ${of.shipmentId}` : `account ${of.accountId}`} cannot be read from Kafka: ${reason}`, of, options);
  }
}
