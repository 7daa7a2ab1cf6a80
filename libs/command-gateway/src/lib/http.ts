import type { NextFunction, Request, Response } from 'express';
import { InvalidRecordError } from '@waybill/contracts';
import { textCharacterProblem } from '@waybill/util';

export interface FieldError {
  field: string;
  message: string;
}

/** A request the handler refuses before anything is produced; becomes a 400 naming each field. */
export class BadRequest extends Error {
  constructor(readonly fieldErrors: FieldError[]) {
    super(fieldErrors.map((f) => `${f.field} ${f.message}`).join('; '));
    this.name = 'BadRequest';
  }
}

const TOKEN = /^[\x21-\x7e]{1,200}$/;

/** An optional header that carries an opaque token (Idempotency-Key, X-Trace-Id). */
export function optionalToken(req: Request, header: string): string | undefined {
  const value = req.header(header);
  if (value === undefined) return undefined;
  if (!TOKEN.test(value)) throw new BadRequest([{ field: header, message: 'must be 1 to 200 visible ASCII characters' }]);
  return value;
}

/**
 * A path id (`:commandId`) that is not even a candidate: a control character or a lone surrogate
 * (the rule of `@waybill/util`) is a 400 naming it, not a lookup that answers 404.
 */
export function pathId(req: Request, name: string): string {
  const value = req.params[name] ?? '';
  const problem = textCharacterProblem(value);
  if (problem) throw new BadRequest([{ field: name, message: problem }]);
  return value;
}

/** The body of every 400: `error: 'VALIDATION'` and every bad field. */
export function sendValidation(res: Response, fieldErrors: FieldError[], message = 'the request has invalid fields'): void {
  res.status(400).json({ error: 'VALIDATION', message, fieldErrors });
}

/**
 * Runs a route and turns the caller's mistakes into 400s: a BadRequest, and anything validation let
 * through that the Avro schema refuses (the schema is the last word on shape). Everything else goes
 * on to the JSON error handler.
 */
export function guard(handler: (req: Request, res: Response) => Promise<void>) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    try {
      await handler(req, res);
    } catch (err) {
      if (err instanceof BadRequest) return sendValidation(res, err.fieldErrors);
      if (err instanceof InvalidRecordError) {
        return sendValidation(
          res,
          err.paths.map((field) => ({ field, message: 'does not fit the schema' })),
          err.message,
        );
      }
      next(err);
    }
  };
}

/** The request body as an object, or a 400 naming `(body)`. */
export function objectBody(req: Request): Record<string, unknown> {
  if (typeof req.body !== 'object' || req.body === null || Array.isArray(req.body)) throw new BadRequest([{ field: '(body)', message: 'must be a JSON object' }]);
  return req.body as Record<string, unknown>;
}

/** The 422 a reused Idempotency-Key gets. */
export function sendIdempotencyMismatch(res: Response, commandId: string): void {
  res.status(422).json({ error: 'IDEMPOTENCY_KEY_REUSED', message: 'this Idempotency-Key was already used for a different request', commandId });
}

/** The 202 of a command whose answer did not come in time: where to poll. */
export function sendPending(res: Response, commandId: string, details: object): void {
  res
    .status(202)
    .location(`/commands/${commandId}`)
    .json({ status: 'pending', commandId, ...details, poll: `/commands/${commandId}` });
}

/** The answers to a submission that every front door words the same way. */
export type CommonReply<P> =
  | { kind: 'invalid'; fieldErrors: FieldError[] }
  | { kind: 'idempotency-mismatch'; commandId: string }
  | { kind: 'pending'; commandId: string; pending: P };

/** Sends a common reply as every front door does, and hands any other kind (the app's own answers) to `own`. */
export function sendReply<P, A extends { kind: string }>(res: Response, result: CommonReply<P> | A, own: (result: A) => void): void {
  const common = result as CommonReply<P>;
  switch (common.kind) {
    case 'invalid':
      return sendValidation(res, common.fieldErrors);
    case 'idempotency-mismatch':
      return sendIdempotencyMismatch(res, common.commandId);
    case 'pending':
      return sendPending(res, common.commandId, common.pending as object);
    default:
      return own(result as A);
  }
}
