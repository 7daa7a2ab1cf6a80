import type { Logger } from './logging';

/**
 * Runs `pass` every `intervalMs`, one pass at a time (the next is scheduled when the last ends, so
 * a slow pass never overlaps itself). A failed pass is logged and the next one tries again; stop()
 * waits for the pass in flight, which can look at `stopped` to end early.
 */
export class PeriodicPass {
  private timer?: NodeJS.Timeout;
  private running?: Promise<unknown>;
  private halted = false;

  constructor(
    private readonly what: string,
    private readonly intervalMs: number,
    private readonly pass: () => Promise<unknown>,
    private readonly logger: Logger,
  ) {}

  get stopped(): boolean {
    return this.halted;
  }

  start(): void {
    const tick = () => {
      this.running = this.pass()
        .catch((err: unknown) => this.logger.warn({ err }, `${this.what} failed; the next pass tries again`))
        .finally(() => {
          if (!this.halted) this.timer = setTimeout(tick, this.intervalMs);
        });
    };
    this.timer = setTimeout(tick, this.intervalMs);
  }

  async stop(): Promise<void> {
    this.halted = true;
    clearTimeout(this.timer);
    await this.running;
  }
}
