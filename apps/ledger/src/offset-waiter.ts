import type { EventEmitter } from 'node:events';
import { isReflected, type LedgerReader, type ReflectedOffsets, type WaitPosition } from '@waybill/ledger-projections';

/**
 * Waits until the read models reflect given record positions. Another instance may own the
 * partition, so the offsets are read from Redis: again whenever this instance applied a batch, and
 * at least every `pollMs`.
 */
export class OffsetWaiter {
  constructor(
    private readonly reader: LedgerReader,
    private readonly applied: EventEmitter,
    private readonly pollMs = 50,
  ) {}

  /** The offsets once every position is reflected, or `{ timedOut: true, offsets }` after `timeoutMs`. */
  async wait(positions: readonly WaitPosition[], timeoutMs: number): Promise<{ timedOut: boolean; offsets: ReflectedOffsets }> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const offsets = await this.reader.offsets();
      if (positions.every((p) => isReflected(offsets, p))) return { timedOut: false, offsets };
      const left = deadline - Date.now();
      if (left <= 0) return { timedOut: true, offsets };
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          this.applied.off('applied', done);
          resolve();
        };
        const timer = setTimeout(done, Math.min(this.pollMs, left));
        this.applied.once('applied', done);
      });
    }
  }
}
