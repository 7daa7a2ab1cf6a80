// Where every bench writes its JSON: one file per run and a `-latest` copy.
import { mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

/**
 * Writes `result` to `<dir>/<benchmark>-<startedAt>.json` and `<dir>/<benchmark>-latest.json`,
 * each through a temporary file and a rename, so a reader never sees half a file. Returns the
 * first path, relative to the working directory, for the closing line of the run.
 */
export function writeResult(dir, benchmark, startedAt, result) {
  mkdirSync(dir, { recursive: true });
  const stamp = startedAt.toISOString().replace(/[:.]/g, '-');
  const text = `${JSON.stringify(result, null, 2)}\n`;
  for (const name of [`${benchmark}-${stamp}.json`, `${benchmark}-latest.json`]) {
    const file = join(dir, name);
    writeFileSync(`${file}.tmp`, text);
    renameSync(`${file}.tmp`, file);
  }
  return relative(process.cwd(), join(dir, `${benchmark}-${stamp}.json`));
}

/** The fields every result starts with: which bench, when it ran and for how long. */
export function runTimes(benchmark, startedAt, finishedAt = new Date()) {
  return {
    benchmark,
    startedAt: startedAt.toISOString(),
    finishedAt: finishedAt.toISOString(),
    durationSeconds: Math.round((finishedAt - startedAt) / 100) / 10,
  };
}
