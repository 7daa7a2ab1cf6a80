import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import { assertPortFree } from './ports';
import { silentProgress } from './progress';
import { startRedisCluster } from './redis';

/** Free ports from `from` up: the high end of what the OS hands out as free (Linux: up to 60999). */
async function freePortsFrom(from: number, count: number): Promise<number[]> {
  const ports: number[] = [];
  for (let port = from; ports.length < count && port < 65_535; port += 1) {
    if (await assertPortFree(port, 'a cluster node').then(() => true, () => false)) ports.push(port);
  }
  return ports;
}

describe('startRedisCluster', () => {
  it('forms a cluster on ports above 55535, where the default bus port (port + 10000) does not exist', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'waybill-redis-cluster-'));
    const cluster = await startRedisCluster({ dataDir: dir, ports: await freePortsFrom(58_000, 3) }, silentProgress);
    try {
      const client = new Redis(cluster.nodes[0].port, cluster.nodes[0].host);
      const info = String(await client.cluster('INFO'));
      await client.quit();
      expect(info).toMatch(/cluster_state:ok/);
      expect(info).toMatch(/cluster_known_nodes:3/);
    } finally {
      await cluster.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 120_000);
});
