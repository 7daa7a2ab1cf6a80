/**
 * Failpoints: named places in the code where a fault test may make this process die, so a crash
 * lands exactly where a test needs it (between a decision and its commit, say) instead of
 * wherever a timer-driven SIGKILL happens to fall. Off unless `WAYBILL_FAILPOINTS` names them:
 *
 *   WAYBILL_FAILPOINTS=streams.before-commit=kill@3        SIGKILL on the 3rd time the point is reached
 *   WAYBILL_FAILPOINTS=streams.after-commit=kill@1,streams.before-commit=kill@5
 *
 * Parsed once per process. An unknown shape throws at start, so a typo never silently disables a
 * fault test.
 */
export const FAILPOINTS_ENV = 'WAYBILL_FAILPOINTS';

interface Armed {
  killAt: number;
  reached: number;
}

const SPEC = /^([a-z][a-z0-9.-]*)=kill@([1-9][0-9]*)$/;

export function parseFailpoints(spec: string | undefined): Map<string, Armed> {
  const armed = new Map<string, Armed>();
  for (const part of (spec ?? '').split(',').map((p) => p.trim()).filter(Boolean)) {
    const match = SPEC.exec(part);
    if (!match) throw new Error(`${FAILPOINTS_ENV}: "${part}" is not <name>=kill@<n> (n ≥ 1)`);
    armed.set(match[1], { killAt: Number(match[2]), reached: 0 });
  }
  return armed;
}

let armed: Map<string, Armed> | undefined;

/** Reached a failpoint: dies here by SIGKILL when the environment armed it for this hit. */
export function failpoint(name: string): void {
  armed ??= parseFailpoints(process.env[FAILPOINTS_ENV]);
  if (armed.size === 0) return;
  const point = armed.get(name);
  if (!point) return;
  point.reached += 1;
  if (point.reached === point.killAt) {
    process.stderr.write(`failpoint ${name}: SIGKILL at hit ${point.reached}\n`);
    process.kill(process.pid, 'SIGKILL');
  }
}
