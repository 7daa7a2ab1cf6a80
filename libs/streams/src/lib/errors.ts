import { WaybillError, type ErrorContext } from '@waybill/util';

/**
 * A partition's state store cannot be trusted (no offset beside existing state, another shape
 * version, an offset outside the changelog): it is wiped and restored from the changelog.
 */
export class TaskCorruptedError extends WaybillError {
  readonly code = 'STREAMS_TASK_CORRUPTED';
  override readonly retriable = true;
  constructor(message: string, context: ErrorContext = {}) {
    super(message, context);
  }
}

/**
 * This instance no longer owns the partition: its transactional producer was fenced by a newer
 * one with the same transactional id, or another owner moved the state store on. The batch in
 * hand is dropped without touching Redis.
 */
export class TaskMigratedError extends WaybillError {
  readonly code = 'STREAMS_TASK_MIGRATED';
  override readonly retriable = true;
  constructor(message: string, context: ErrorContext = {}, cause?: unknown) {
    super(message, context, { cause });
  }
}

/** Reading a changelog partition back into the state store failed or stalled. */
export class RestoreFailedError extends WaybillError {
  readonly code = 'STREAMS_RESTORE_FAILED';
  override readonly retriable = true;
  constructor(message: string, context: ErrorContext = {}, cause?: unknown) {
    super(message, context, { cause });
  }
}

/** A bounded replay (`replayPartitions`) could not reach the end of its ranges: stalled, skipped records, crashed. */
export class BoundedReplayError extends WaybillError {
  readonly code = 'STREAMS_BOUNDED_REPLAY_FAILED';
  override readonly retriable = true;
  constructor(message: string, context: ErrorContext = {}, cause?: unknown) {
    super(message, context, { cause });
  }
}

/**
 * A transaction of this task's own transactional id still holds a partition open after it was
 * resolved (its markers did not land in time): nothing may be decided there yet; retried.
 */
export class HangingTransactionError extends WaybillError {
  readonly code = 'STREAMS_HANGING_TRANSACTION';
  override readonly retriable = true;
  constructor(message: string, context: ErrorContext = {}) {
    super(message, context);
  }
}

/** A state machine was asked for a move its table does not allow: a bug, never retried. */
export class IllegalStateTransitionError extends WaybillError {
  readonly code = 'STREAMS_ILLEGAL_STATE_TRANSITION';
  constructor(from: string, to: string, context: ErrorContext = {}) {
    super(`illegal state transition ${from} → ${to}`, { ...context, from, to });
  }
}

/** A record the processor could not handle and the bad-record policy said 'fail' for. */
export class BadRecordError extends WaybillError {
  readonly code = 'STREAMS_BAD_RECORD';
  constructor(message: string, context: ErrorContext, cause: unknown) {
    super(message, context, { cause });
  }
}

/** The loop gave up on a partition after repeated infrastructure failures. */
export class ProcessingFailedError extends WaybillError {
  readonly code = 'STREAMS_PROCESSING_FAILED';
  constructor(message: string, context: ErrorContext, cause: unknown) {
    super(message, context, { cause });
  }
}

/** The runner was used in a way it does not support (bad options, no Redis for a store). */
export class StreamsConfigError extends WaybillError {
  readonly code = 'STREAMS_CONFIG_INVALID';
  constructor(message: string, context: ErrorContext = {}) {
    super(message, context);
  }
}

// NOTE: kafkajs speaks old protocol versions (EndTxn v1, Produce v7), for which the broker reports
// a fenced producer as INVALID_PRODUCER_EPOCH (47); newer versions say PRODUCER_FENCED (90), which
// kafkajs 2.2.4 does not even know by name, so the numeric code is checked too. kafkajs wraps
// protocol errors in retrier errors, hence the walk down the `cause` chain.
const FENCING_TYPES = new Set(['INVALID_PRODUCER_EPOCH', 'PRODUCER_FENCED', 'INVALID_PRODUCER_ID_MAPPING']);
const FENCING_CODES = new Set([47, 49, 90]);

/** True when `error` (or anything in its cause chain) says another producer took the transactional id. */
export function isFencingError(error: unknown): boolean {
  for (let current: unknown = error, depth = 0; current && depth < 10; depth += 1) {
    if (current instanceof TaskMigratedError) return true;
    const candidate = current as { type?: unknown; code?: unknown; cause?: unknown; originalError?: unknown };
    if (typeof candidate.type === 'string' && FENCING_TYPES.has(candidate.type)) return true;
    if (typeof candidate.code === 'number' && FENCING_CODES.has(candidate.code)) return true;
    current = candidate.cause ?? candidate.originalError;
  }
  return false;
}

/** True for the errors on which kafkajs itself rejoins the group (runner.js `isRebalancing`). */
export function isRebalanceError(error: unknown): boolean {
  const type = (error as { type?: unknown } | undefined)?.type;
  return type === 'REBALANCE_IN_PROGRESS' || type === 'NOT_COORDINATOR_FOR_GROUP' || type === 'ILLEGAL_GENERATION' || type === 'UNKNOWN_MEMBER_ID';
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function errorCode(error: unknown): string {
  const code = (error as { code?: unknown; type?: unknown } | undefined)?.code;
  if (typeof code === 'string') return code;
  const type = (error as { type?: unknown } | undefined)?.type;
  if (typeof type === 'string') return type;
  return error instanceof Error ? error.name : 'UNKNOWN';
}
