import { performance } from 'node:perf_hooks';
import type { Cluster, Redis } from 'ioredis';
import type { AppMetrics, Logger } from '@waybill/platform';
import type { IdempotencyRecord, IdempotencyStore } from './idempotency';
import type { OutcomeTracker, TrackedOutcome } from './outcome-tracker';

/** One command a handler has built and validated, ready to go to its commands topic. */
export interface Submission<R extends IdempotencyRecord, P> {
  principal: string;
  commandId: string;
  idempotencyKey?: string;
  /** What the Idempotency-Key remembers: the command id, the request's fingerprint, and what a replay needs. */
  claim: R;
  /** What `GET /commands/:id` reports while the command waits for its answer. */
  pending: P;
  /** Produces the command (acknowledged by the brokers) or throws. */
  produce: () => Promise<void>;
}

export type Submitted<T, P> =
  | { kind: 'idempotency-mismatch'; commandId: string }
  | { kind: 'answered'; commandId: string; tracked: TrackedOutcome<T> }
  | { kind: 'pending'; commandId: string; pending: P };

export type Looked<T, P> = { kind: 'answered'; tracked: TrackedOutcome<T> } | { kind: 'pending'; pending: P } | { kind: 'unknown' };

/**
 * The 202-and-poll path both handlers share: claim the Idempotency-Key, listen for the answer
 * before producing (so a fast one is never missed), mark the command pending, produce, and wait a
 * bounded time. A produce that fails gives the key back and leaves nothing pending, so the
 * client's retry produces the command (with the same id) instead of waiting for an answer to nothing.
 */
export class CommandGateway<T, R extends IdempotencyRecord, P> {
  constructor(
    private readonly deps: {
      redis: Redis | Cluster;
      /** Redis prefix of the pending markers: `<keyPrefix>:command:<commandId>`. */
      keyPrefix: string;
      tracker: OutcomeTracker<T>;
      idempotency: IdempotencyStore<R>;
      outcomeWaitMs: number;
      ttlSeconds: number;
      logger: Logger;
      /** Times each hop of a request (waybill_request_phase_seconds). */
      metrics?: AppMetrics;
    },
  ) {}

  private observe(phase: string, since: number): number {
    const now = performance.now();
    this.deps.metrics?.requestPhaseDuration.observe({ phase }, (now - since) / 1000);
    return now;
  }

  private pendingKey(commandId: string): string {
    return `${this.deps.keyPrefix}:command:${commandId}`;
  }

  async submit(submission: Submission<R, P>): Promise<Submitted<T, P>> {
    const { principal, idempotencyKey, commandId, pending } = submission;
    if (idempotencyKey) {
      const claim = await this.deps.idempotency.claim(principal, idempotencyKey, submission.claim);
      if (claim.kind === 'mismatch') return { kind: 'idempotency-mismatch', commandId: claim.record.commandId };
      if (claim.kind === 'replay') return this.wait(claim.record.commandId, this.deps.tracker.expect(claim.record.commandId), pending);
    }
    const began = performance.now();
    const wait = this.deps.tracker.expect(commandId);
    await this.deps.redis.set(this.pendingKey(commandId), JSON.stringify(pending), 'EX', this.deps.ttlSeconds);
    let at = this.observe('pending', began);
    try {
      await submission.produce();
      at = this.observe('produce', at);
    } catch (err) {
      // Not acknowledged. (Had it reached the topic after all, the retry's same id is answered by
      // the decider, never applied twice.)
      await this.deps.redis.del(this.pendingKey(commandId)).catch(() => undefined);
      if (idempotencyKey) await this.deps.idempotency.release(principal, idempotencyKey, commandId).catch(() => undefined);
      throw err;
    }
    const submitted = await this.wait(commandId, wait, pending);
    if (submitted.kind === 'answered') this.observe('answer', at);
    this.observe('total', began);
    return submitted;
  }

  /** The answer to an earlier command, or whether it is still pending or unknown here. */
  async lookup(commandId: string): Promise<Looked<T, P>> {
    const tracked = await this.deps.tracker.find(commandId);
    if (tracked) return { kind: 'answered', tracked };
    const pending = await this.deps.redis.get(this.pendingKey(commandId));
    return pending ? { kind: 'pending', pending: JSON.parse(pending) as P } : { kind: 'unknown' };
  }

  private async wait(commandId: string, wait: (timeoutMs: number) => Promise<TrackedOutcome<T> | undefined>, pending: P): Promise<Submitted<T, P>> {
    const tracked = await wait(this.deps.outcomeWaitMs);
    return tracked ? { kind: 'answered', commandId, tracked } : { kind: 'pending', commandId, pending };
  }
}
