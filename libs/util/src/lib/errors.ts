/** Context a Waybill error may carry, so logs and dead-letter records say where it happened. */
export interface ErrorContext {
  topic?: string;
  partition?: number;
  offset?: string;
  aggregateId?: string;
  [key: string]: unknown;
}

/**
 * The base of every error Waybill libs throw. `retriable` tells a loop whether backing off and
 * trying again can help; `code` is stable and machine-readable.
 */
export abstract class WaybillError extends Error {
  abstract readonly code: string;
  readonly retriable: boolean = false;
  readonly context: ErrorContext;

  constructor(message: string, context: ErrorContext = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.context = context;
  }
}
