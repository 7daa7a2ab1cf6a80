import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { chaosSettingsFromEnv, MINIMUM_SHIPMENT_COMMANDS, runChaos } from './support/chaos-run';

// Nothing lost, nothing counted twice, under faults: a whole Waybill under load while its
// consumers are SIGKILLed, a reducer stalls, the broker is SIGKILLed and Redis restarts empty,
// then the history checker over every topic (test/faults/support/chaos-run.ts). FAULTS_SEED
// repeats a run; FAULTS_CHAOS_MS and FAULTS_WORKERS scale it. With FAULTS_RESULT_FILE the run's
// result is also written there as JSON (npm run soak reads it).

const settings = chaosSettingsFromEnv();

describe(`faults: crashes, a stalled consumer, a broker SIGKILL and Redis restarted empty under load (seed ${settings.seed})`, () => {
  it('keeps every acknowledged command, every version sequence, every id and every balance exact', async () => {
    const result = await runChaos(settings);
    process.stdout.write(`${result.report}\n`);
    const resultFile = process.env.FAULTS_RESULT_FILE;
    if (resultFile) {
      mkdirSync(dirname(resultFile), { recursive: true });
      writeFileSync(resultFile, `${JSON.stringify(result, null, 2)}\n`);
    }
    expect(result.verdict.kinds.filter((k) => k.count > 0).map((k) => `${k.kind} ×${k.count}: ${k.examples[0]}`)).toEqual([]);
    expect(result.shipmentAnswers).toBeGreaterThan(MINIMUM_SHIPMENT_COMMANDS);
  }, 1_200_000);
});
