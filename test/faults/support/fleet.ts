import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { topicSpecs } from '@waybill/contracts';
import {
  apiKeysSpec,
  appUrlVariable,
  ensureTopics,
  freePort,
  silentProgress,
  startAppProcess,
  startKafka,
  startRedis,
  startSchemaRegistry,
  type KafkaHandle,
  type RedisHandle,
  type RegistryHandle,
  type RunningApp,
} from '@waybill/devstack';

export const root = join(__dirname, '..', '..', '..');

export interface Member {
  /** `shipment-reducer#2`: the app and which instance. */
  id: string;
  app: string;
  env: Record<string, string>;
  running?: RunningApp & { port: number };
  /** The port it listens on, kept across restarts. */
  port?: number;
  /** A restart under way (after a planned kill or an unplanned exit). */
  starting?: Promise<void>;
  plannedExit: boolean;
  unplannedExits: number;
  restarts: number;
}

/**
 * A whole Waybill on its own broker, Redis and registry, which the faults suite may kill: the
 * broker and Redis restart on the same ports (and, for Kafka, the same data), and so do apps.
 * Like an orchestrator, it restarts an app that exits on its own, and counts it.
 */
export class Fleet {
  readonly dir = mkdtempSync(join(tmpdir(), 'waybill-faults-'));
  readonly logsDir = join(this.dir, 'logs');
  readonly members = new Map<string, Member>();
  kafka!: KafkaHandle;
  redis!: RedisHandle;
  registry!: RegistryHandle;
  private kafkaPorts!: { brokerPort: number; controllerPort: number };
  private redisPort!: number;
  private closing = false;

  async startInfrastructure(partitions: number): Promise<void> {
    mkdirSync(this.logsDir, { recursive: true });
    this.kafkaPorts = { brokerPort: await freePort(), controllerPort: await freePort() };
    this.redisPort = await freePort();
    await this.startBroker();
    await this.startRedisEmpty();
    this.registry = await startSchemaRegistry({ port: await freePort(), brokers: this.kafka.brokers, logsDir: this.logsDir }, silentProgress);
    await ensureTopics(this.kafka.brokers, topicSpecs({ partitions }));
  }

  private async startBroker(): Promise<void> {
    this.kafka = await startKafka({ dataDir: join(this.dir, 'kafka'), ...this.kafkaPorts, heapMb: 512 }, silentProgress);
  }

  private async startRedisEmpty(): Promise<void> {
    const dataDir = join(this.dir, 'redis');
    rmSync(dataDir, { recursive: true, force: true });
    this.redis = await startRedis({ dataDir, port: this.redisPort }, silentProgress);
  }

  /** Like `npm start`: an app started after another finds it as <NAME>_URL (the first member of that app). */
  private readonly appUrls: Record<string, string> = {};

  get appEnv(): Record<string, string> {
    return {
      KAFKA_BROKERS: this.kafka.brokers.join(','),
      REDIS_URL: this.redis.url,
      SCHEMA_REGISTRY_URL: this.registry.url,
      API_KEYS: apiKeysSpec(),
      ...this.appUrls,
    };
  }

  async add(id: string, env: Record<string, string> = {}): Promise<Member> {
    const member: Member = { id, app: id.split('#')[0], env, plannedExit: false, unplannedExits: 0, restarts: 0 };
    this.members.set(id, member);
    await this.launch(member);
    return member;
  }

  private nextInstance = 0;

  /** A running member's URL: the member `id`, or, given an app's name, each running instance of it in turn (as a load balancer would). */
  url(id: string): string | undefined {
    const exact = this.members.get(id);
    if (exact) return exact.running?.url;
    const running = [...this.members.values()].filter((m) => m.app === id && m.running);
    if (!running.length) return undefined;
    this.nextInstance = (this.nextInstance + 1) % running.length;
    return running[this.nextInstance].running?.url;
  }

  private async launch(member: Member): Promise<void> {
    // A restart takes the member's port back, so apps that call it (<NAME>_URL) keep their URL.
    const running = await startAppProcess(member.app, { ...this.appEnv, KAFKA_CLIENT_ID: member.id.replace('#', '-'), ...member.env }, { root, logsDir: this.logsDir, readyTimeoutMs: 180_000, port: member.running?.port ?? member.port });
    member.running = running;
    member.port = running.port;
    this.appUrls[appUrlVariable(member.app)] ??= running.url;
    member.plannedExit = false;
    void running.service.exited.then(() => {
      if (this.closing || member.plannedExit || member.running !== running) return;
      member.unplannedExits += 1;
      process.stderr.write(`faults: ${member.id} exited on its own; restarting it\n${running.service.tail()}\n`);
      this.restartSoon(member, 1_000);
    });
  }

  private restartSoon(member: Member, delayMs: number): void {
    member.running = undefined;
    member.starting = (async () => {
      await new Promise((r) => setTimeout(r, delayMs));
      for (let attempt = 1; !this.closing; attempt += 1) {
        try {
          await this.launch(member);
          member.restarts += 1;
          return;
        } catch (err) {
          process.stderr.write(`faults: restarting ${member.id} failed (attempt ${attempt}): ${(err as Error).message.slice(0, 500)}\n`);
          await new Promise((r) => setTimeout(r, 2_000));
        }
      }
    })().finally(() => (member.starting = undefined));
  }

  /** SIGKILL, then a restart in the background after `downMs`. */
  async kill(id: string, downMs: number): Promise<void> {
    const member = this.members.get(id)!;
    await member.starting;
    const running = member.running;
    if (!running) return;
    member.plannedExit = true;
    running.service.kill('SIGKILL');
    await running.service.exited;
    this.restartSoon(member, downMs);
  }

  /** SIGSTOP for `ms`, then SIGCONT: the member misses its heartbeats and loses its partitions mid-batch. */
  async stall(id: string, ms: number): Promise<void> {
    const member = this.members.get(id)!;
    await member.starting;
    const service = member.running?.service;
    if (!service) return;
    service.kill('SIGSTOP');
    await new Promise((r) => setTimeout(r, ms));
    service.kill('SIGCONT');
  }

  async killBroker(downMs: number): Promise<void> {
    this.kafka.service.kill('SIGKILL');
    await this.kafka.service.exited;
    await new Promise((r) => setTimeout(r, downMs));
    await this.startBroker();
  }

  /** SIGKILL Redis, delete its data, start it again empty on the same port. */
  async restartRedisEmpty(): Promise<void> {
    this.redis.service!.kill('SIGKILL');
    await this.redis.service!.exited;
    await this.startRedisEmpty();
  }

  /** Waits until every member is running again (restarts finished). */
  async settled(timeoutMs = 180_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const pending = [...this.members.values()].filter((m) => !m.running || m.starting);
      if (!pending.length) return;
      if (Date.now() > deadline) throw new Error(`not running again after ${timeoutMs} ms: ${pending.map((m) => m.id).join(', ')}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }

  async close(): Promise<void> {
    this.closing = true;
    await Promise.allSettled([...this.members.values()].map((m) => m.running?.service.stop(10_000)));
    await this.registry?.stop().catch(() => undefined);
    await this.redis?.stop().catch(() => undefined);
    await this.kafka?.stop().catch(() => undefined);
  }
}
