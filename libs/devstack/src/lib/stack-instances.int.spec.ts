import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentProgress } from './progress';
import { startStack } from './stack';

// `npm start -- --instances` is checked before anything starts: a mistyped app or a count no
// group can use is one clear error, with no broker or Redis left behind.
describe('startStack instances', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'waybill-instances-'));
  afterAll(() => rmSync(dataDir, { recursive: true, force: true }));

  it.each([
    [{ 'shipment-reduce': 2 }, /shipment-reduce, which is not an app \(apps: .*shipment-reducer/],
    [{ 'shipment-reducer': 0 }, /shipment-reducer=0: the count must be a whole number from 1 to 12/],
    [{ ledger: 13 }, /ledger=13: the count must be a whole number from 1 to 12/],
    [{ ledger: 1.5 }, /ledger=1.5: the count must be a whole number/],
  ])('refuses %j before starting anything', async (instances, message) => {
    await expect(startStack({ dataDir, freePorts: true, instances, progress: silentProgress })).rejects.toThrow(message);
    expect(readdirSync(dataDir).filter((entry) => entry !== 'logs')).toEqual([]);
  });
});
