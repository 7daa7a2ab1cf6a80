import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** The folder holding nx.json: found from this file, so the stack works from any cwd. */
export function workspaceRoot(): string {
  if (process.env.WAYBILL_ROOT) return resolve(process.env.WAYBILL_ROOT);
  let dir = __dirname;
  while (!existsSync(join(dir, 'nx.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`no nx.json above ${__dirname}; set WAYBILL_ROOT`);
    dir = parent;
  }
  return dir;
}

/** The Kafka version is pinned once, in infra/kafka/pom.xml; everything else reads it from there. */
export function kafkaVersion(root = workspaceRoot()): string {
  const pom = readFileSync(join(root, 'infra', 'kafka', 'pom.xml'), 'utf8');
  const match = /<kafka\.version>([^<]+)<\/kafka\.version>/.exec(pom);
  if (!match) throw new Error('infra/kafka/pom.xml has no <kafka.version>');
  return match[1];
}

export function kafkaLibsDir(root = workspaceRoot(), version = kafkaVersion(root)): string {
  return join(root, '.cache', 'kafka', version, 'libs');
}
