// A bench's scratch folder and its teardown: steps run last-first, once, on the way out or on
// Ctrl-C / SIGTERM (then the bench exits 130), and the folder is deleted unless BENCH_KEEP_WORKDIR.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';

export function benchWorkDir(prefix) {
  const workDir = mkdtempSync(join(os.tmpdir(), prefix));
  /** Steps to undo what the bench started, pushed as it starts them. */
  const teardown = [];
  let tornDown = false;
  let interrupted = false;
  const tearDown = async () => {
    if (tornDown) return;
    tornDown = true;
    for (const step of teardown.reverse()) await step().catch((err) => process.stderr.write(`teardown: ${err.message}\n`));
    if (!process.env.BENCH_KEEP_WORKDIR) rmSync(workDir, { recursive: true, force: true });
  };
  const onSignal = (signal) => {
    interrupted = true;
    process.stderr.write(`\n${signal}: tearing down\n`);
    void tearDown().then(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return { workDir, teardown, tearDown, interrupted: () => interrupted };
}
