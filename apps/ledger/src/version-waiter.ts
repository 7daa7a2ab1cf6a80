import type { EventEmitter } from 'node:events';
import type { LedgerReader, ReadToken } from '@waybill/ledger-projections';

/** What the projector emits as `shipments` after a write: each shipment it touched and the highest version among its records. */
export type ProjectedVersions = ReadonlyMap<string, number>;

/**
 * Waits until the read model holds a shipment at a version at least the one a read token names.
 * The projector announces the shipments each write touched, so a waiting read looks at Redis again
 * only when its own shipment reached the version; another ledger instance may own the shipment's
 * partition and announces nothing here, so the read also looks every `pollMs`.
 */
export class ShipmentVersionWaiter {
  private readonly waiting = new Map<string, Set<(version: number) => void>>();

  constructor(
    private readonly reader: LedgerReader,
    projected: EventEmitter,
    private readonly pollMs = 250,
  ) {
    projected.on('shipments', (versions: ProjectedVersions) => {
      for (const [shipmentId, version] of versions) for (const wake of this.waiting.get(shipmentId) ?? []) wake(version);
    });
  }

  /** The version the read model holds (0: no such shipment) once it reached the token's, or with `timedOut` after `timeoutMs`. */
  async wait(token: ReadToken, timeoutMs: number): Promise<{ timedOut: boolean; version: number }> {
    const deadline = Date.now() + timeoutMs;
    let reached = false;
    let wakeUp: (() => void) | undefined;
    const onProjected = (version: number) => {
      if (version < token.version) return;
      reached = true;
      wakeUp?.();
    };
    // Listening before the first read: a write that lands while Redis answers is not missed.
    const listeners = this.waiting.get(token.shipmentId) ?? new Set();
    listeners.add(onProjected);
    this.waiting.set(token.shipmentId, listeners);
    try {
      for (;;) {
        reached = false;
        const version = (await this.reader.shipment(token.shipmentId))?.version ?? 0;
        if (version >= token.version) return { timedOut: false, version };
        const left = deadline - Date.now();
        if (left <= 0) return { timedOut: true, version };
        if (reached) continue;
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, Math.min(this.pollMs, left));
          function done() {
            clearTimeout(timer);
            resolve();
          }
          wakeUp = done;
        });
        wakeUp = undefined;
      }
    } finally {
      listeners.delete(onProjected);
      if (listeners.size === 0) this.waiting.delete(token.shipmentId);
    }
  }
}
