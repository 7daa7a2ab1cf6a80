import type { EventEmitter } from 'node:events';
import type { Response } from 'express';
import { duplicateRedis, type Logger, type RedisClient } from '@waybill/platform';

/** Who acknowledged an alert, and when. */
export interface Acknowledgement {
  by: string;
  role: string;
  at: string;
}

/**
 * Acknowledgements are operator actions, not projections of a topic, so they live outside the
 * projected keyspace (`${TOPIC_PREFIX}ledger-acks`, not `${TOPIC_PREFIX}ledger:`): a rebuild or a
 * `verify` of the read models neither needs nor touches them.
 */
export class AlertAcks {
  constructor(
    private readonly redis: RedisClient,
    private readonly key: string,
  ) {}

  /** The first acknowledgement wins; a repeat returns it unchanged. */
  async acknowledge(alertId: string, ack: Acknowledgement): Promise<{ ack: Acknowledgement; first: boolean }> {
    const first = (await this.redis.hsetnx(this.key, alertId, JSON.stringify(ack))) === 1;
    if (first) return { ack, first };
    const stored = await this.redis.hget(this.key, alertId);
    return { ack: stored ? (JSON.parse(stored) as Acknowledgement) : ack, first: false };
  }

  async of(alertIds: string[]): Promise<Array<Acknowledgement | null>> {
    if (alertIds.length === 0) return [];
    const raw = await this.redis.hmget(this.key, ...alertIds);
    return raw.map((r) => (r ? (JSON.parse(r) as Acknowledgement) : null));
  }
}

/**
 * Live alerts over server-sent events. Projectors publish new alerts (and acknowledgements) on a
 * Redis channel, so a client connected to any ledger instance sees every alert, whichever instance
 * projected it.
 */
export class AlertStream {
  private readonly clients = new Set<Response>();
  private subscriber?: RedisClient;
  private heartbeat?: NodeJS.Timeout;

  constructor(
    private readonly redis: RedisClient,
    readonly channel: string,
    private readonly logger: Logger,
  ) {}

  async start(): Promise<void> {
    const subscriber = duplicateRedis(this.redis);
    this.subscriber = subscriber;
    subscriber.on('message', (_channel: string, message: string) => this.broadcast(message));
    await subscriber.subscribe(this.channel);
    // Comments keep proxies from closing an idle stream.
    this.heartbeat = setInterval(() => this.clients.forEach((res) => res.write(': keep-alive\n\n')), 15_000);
    this.heartbeat.unref();
  }

  async publish(kind: 'alert' | 'ack', payload: unknown): Promise<void> {
    await this.redis.publish(this.channel, JSON.stringify({ kind, payload }));
  }

  /** Turns `res` into an event stream until the client goes away. */
  attach(res: Response, closed: EventEmitter): void {
    res.status(200);
    res.setHeader('Content-Type', 'text/event-stream');
    res.setHeader('Cache-Control', 'no-cache, no-transform');
    res.setHeader('Connection', 'keep-alive');
    res.setHeader('X-Accel-Buffering', 'no');
    res.flushHeaders();
    res.write('retry: 3000\n: connected\n\n');
    this.clients.add(res);
    closed.once('close', () => this.clients.delete(res));
  }

  get connected(): number {
    return this.clients.size;
  }

  async stop(): Promise<void> {
    clearInterval(this.heartbeat);
    for (const res of this.clients) res.end();
    this.clients.clear();
    await this.subscriber?.quit().catch(() => undefined);
  }

  private broadcast(message: string): void {
    let parsed: { kind: string; payload: { id?: string } };
    try {
      parsed = JSON.parse(message);
    } catch {
      this.logger.warn({ channel: this.channel }, 'ignoring a malformed alert notification');
      return;
    }
    const id = parsed.payload?.id;
    const frame = `event: ${parsed.kind}\n${id ? `id: ${id}\n` : ''}data: ${JSON.stringify(parsed.payload)}\n\n`;
    for (const res of this.clients) res.write(frame);
  }
}
