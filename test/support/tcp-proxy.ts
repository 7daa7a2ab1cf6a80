import { connect, createServer, type Server, type Socket } from 'node:net';
import type { ISocketFactory } from 'kafkajs';

/** `upstream`: client → target (requests); `downstream`: target → client (replies). */
export type Direction = 'upstream' | 'downstream';
export type Directions = Direction | 'both';

const DIRECTIONS: readonly Direction[] = ['upstream', 'downstream'];
const pick = (d: Directions): readonly Direction[] => (d === 'both' ? DIRECTIONS : [d]);

export interface TcpProxyOptions {
  target: { host?: string; port: number };
  /** 0 (the default) lets the OS choose; a fixed port lets a restarted proxy keep its address. */
  port?: number;
  host?: string;
  /**
   * Client → target bytes are int32-length-prefixed frames (Kafka requests), so `holdWhen` and
   * `onFrame` can see where each request starts. Off, the proxy never looks at the bytes.
   */
  frames?: boolean;
}

/** The start of one client → target frame: its size prefix and at most the first 64 bytes after it. */
export interface FrameHead {
  connection: number;
  /** The int32 size prefix: the frame is `size + 4` bytes on the wire. */
  size: number;
  head: Buffer;
}

export interface HoldOptions {
  /** `downstream` (the default) holds the reply: the matching request itself reaches the target. */
  hold?: Directions;
  /** Hold only the matching frame's connection (the default), or every connection, new ones too. */
  scope?: 'connection' | 'proxy';
  /** Gives up watching: the promise rejects and nothing is held by this watch. */
  signal?: AbortSignal;
}

export interface ProxyStats {
  accepted: number;
  open: number;
  /** Connections closed on arrival while `cut` refused new ones. */
  refused: number;
  /** Bytes forwarded so far. */
  bytes: Record<Direction, number>;
  /** Bytes received and not yet forwarded (paused or delayed). */
  held: Record<Direction, number>;
  /** Client → target frames seen (with `frames: true`). */
  frames: number;
}

export interface KafkaRequestHeader {
  apiKey: number;
  apiVersion: number;
  correlationId: number;
  clientId: string | null;
}

/** Api keys a test is likely to match on (https://kafka.apache.org/protocol#protocol_api_keys). */
export const KafkaApiKey = {
  Produce: 0,
  Fetch: 1,
  ListOffsets: 2,
  Metadata: 3,
  OffsetCommit: 8,
  FindCoordinator: 10,
  InitProducerId: 22,
  AddPartitionsToTxn: 24,
  AddOffsetsToTxn: 25,
  EndTxn: 26,
  WriteTxnMarkers: 27,
  TxnOffsetCommit: 28,
} as const;

/** Reads the request header v1/v2 prefix (size, api key, version, correlation id, client id) of a frame head. */
export function kafkaRequestHeader(frame: FrameHead): KafkaRequestHeader | undefined {
  const { head } = frame;
  if (head.length < 12) return undefined;
  const apiKey = head.readInt16BE(4);
  const apiVersion = head.readInt16BE(6);
  const correlationId = head.readInt32BE(8);
  let clientId: string | null = null;
  if (head.length >= 14) {
    const length = head.readInt16BE(12);
    if (length >= 0 && head.length >= 14 + length) clientId = head.subarray(14, 14 + length).toString('utf8');
  }
  return { apiKey, apiVersion, correlationId, clientId };
}

const HEAD_BYTES = 64;

/**
 * Splits one connection's client → target stream at frame boundaries and reports each frame's
 * head before any byte of that frame is forwarded, so a hold decided on the head applies to the
 * frame itself (upstream) or to everything the target sends after it (downstream).
 */
class FrameScanner {
  private head = Buffer.alloc(0);
  private remaining = 0;
  private raw = false;

  constructor(private readonly onHead: (size: number, head: Buffer) => void) {}

  feed(chunk: Buffer, forward: (bytes: Buffer) => void): void {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.raw) {
        forward(chunk.subarray(offset));
        return;
      }
      if (this.remaining > 0) {
        const n = Math.min(this.remaining, chunk.length - offset);
        forward(chunk.subarray(offset, offset + n));
        this.remaining -= n;
        offset += n;
        continue;
      }
      const target = this.head.length < 4 ? 4 : 4 + Math.min(this.head.readInt32BE(0), HEAD_BYTES);
      const n = Math.min(target - this.head.length, chunk.length - offset);
      this.head = Buffer.concat([this.head, chunk.subarray(offset, offset + n)]);
      offset += n;
      if (this.head.length === 4 && this.head.readInt32BE(0) < 0) {
        // Not a length-prefixed stream after all: stop parsing rather than hold bytes forever.
        this.raw = true;
        forward(this.head);
        this.head = Buffer.alloc(0);
        continue;
      }
      if (this.head.length < 4) continue;
      const size = this.head.readInt32BE(0);
      if (this.head.length < 4 + Math.min(size, HEAD_BYTES)) continue;
      const head = this.head;
      this.head = Buffer.alloc(0);
      this.remaining = 4 + size - head.length;
      this.onHead(size, head);
      forward(head);
    }
  }
}

interface Queued {
  chunk: Buffer;
  due: number;
  seq: number;
}

/** One direction of one connection: what was received from `source` and is owed to `dest`. */
class Pipe {
  private readonly queue: Queued[] = [];
  private timer?: NodeJS.Timeout;
  private ended = false;
  private draining = false;
  private pushed = 0;
  /** Chunks from this sequence number on wait for `resume`; the ones before still flow. */
  private barrier?: number;
  held = 0;

  constructor(
    private readonly connection: Connection,
    readonly direction: Direction,
    private readonly source: Socket,
    private readonly dest: Socket,
  ) {}

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.queue.push({ chunk, due: Date.now() + this.connection.proxy.delayOf(this.direction), seq: this.pushed++ });
    this.held += chunk.length;
    this.pump();
  }

  /** Holds what arrives from now on, not what is already queued: a reply already on its way is not the one being held. */
  holdFromNext(): void {
    this.barrier ??= this.pushed;
  }

  release(): void {
    this.barrier = undefined;
  }

  /** The source sent its FIN: pass it on once everything before it is delivered. */
  end(): void {
    this.ended = true;
    this.pump();
  }

  pump(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.dest.destroyed || !this.connection.targetReady) return;
    while (this.queue.length > 0) {
      if (this.draining || this.connection.proxy.isPaused(this.direction)) return;
      if (this.barrier !== undefined && this.queue[0].seq >= this.barrier) return;
      const wait = this.queue[0].due - Date.now();
      if (wait > 0) {
        this.timer = setTimeout(() => this.pump(), wait);
        return;
      }
      const next = this.queue.shift();
      if (!next) return;
      const { chunk } = next;
      this.held -= chunk.length;
      this.connection.proxy.counted(this.direction, chunk.length);
      if (!this.dest.write(chunk)) {
        // A slow reader is the kernel's business: stop reading until it catches up, as a
        // plain connection would, rather than grow the queue without bound.
        this.draining = true;
        this.source.pause();
        this.dest.once('drain', () => {
          this.draining = false;
          this.source.resume();
          this.pump();
        });
      }
    }
    if (this.ended && this.barrier === undefined && !this.dest.writableEnded) this.dest.end();
  }

  dispose(): void {
    clearTimeout(this.timer);
    this.queue.length = 0;
    this.held = 0;
  }
}

class Connection {
  targetReady = false;
  readonly upstream: Pipe;
  readonly downstream: Pipe;

  constructor(
    readonly proxy: TcpProxy,
    readonly id: number,
    readonly client: Socket,
    readonly target: Socket,
    frames: boolean,
  ) {
    this.upstream = new Pipe(this, 'upstream', client, target);
    this.downstream = new Pipe(this, 'downstream', target, client);
    const scanner = frames ? new FrameScanner((size, head) => proxy.sawFrame({ connection: id, size, head }, this)) : undefined;
    client.on('data', (chunk: Buffer) =>
      scanner ? scanner.feed(chunk, (bytes) => this.upstream.push(bytes)) : this.upstream.push(chunk),
    );
    target.on('data', (chunk: Buffer) => this.downstream.push(chunk));
    target.once('connect', () => {
      this.targetReady = true;
      this.pump();
    });
    // Half-open on both sides: a FIN travels behind the bytes held before it, like on a wire.
    client.on('end', () => this.upstream.end());
    target.on('end', () => this.downstream.end());
    // A reset or a refused target takes the whole connection down, held bytes included, as a
    // dead peer would: a test that cuts the network must not see stale bytes arrive later.
    client.on('error', () => this.destroy());
    target.on('error', () => this.destroy());
    client.on('close', () => this.closed(this.downstream, target));
    target.on('close', () => this.closed(this.upstream, client));
  }

  pipe(direction: Direction): Pipe {
    return direction === 'upstream' ? this.upstream : this.downstream;
  }

  pump(): void {
    this.upstream.pump();
    this.downstream.pump();
  }

  /** One socket is gone: nothing more can be delivered to it; the other side hears of it once drained. */
  private closed(towardsClosed: Pipe, other: Socket): void {
    towardsClosed.dispose();
    if (this.client.destroyed && this.target.destroyed) this.proxy.forget(this);
    else if (other === this.target) this.upstream.end();
    else this.downstream.end();
  }

  destroy(): void {
    this.upstream.dispose();
    this.downstream.dispose();
    this.client.destroy();
    this.target.destroy();
    this.proxy.forget(this);
  }
}

interface Watch {
  match: (frame: FrameHead) => boolean;
  options: HoldOptions;
  resolve: (frame: FrameHead) => void;
}

/**
 * A loopback TCP proxy for tests: forwards to one target, and can hold, delay or cut the
 * traffic in either direction, so a test can make the network fail exactly where it means to.
 *
 * Held bytes stay in the proxy (not in kernel buffers), so `resume()` delivers them in order and
 * `stats().held` says how much is waiting.
 */
export class TcpProxy {
  private readonly connections = new Set<Connection>();
  private readonly pausedDirections = new Set<Direction>();
  /** Set by a proxy-wide `holdWhen`: connections opened later hold from their first byte. */
  private readonly holdingNew = new Set<Direction>();
  private readonly delays: Record<Direction, number> = { upstream: 0, downstream: 0 };
  private readonly watches = new Set<Watch>();
  private readonly frameListeners = new Set<(frame: FrameHead) => void>();
  private readonly totals = { accepted: 0, refused: 0, frames: 0, bytes: { upstream: 0, downstream: 0 } };
  private refuseUntil = 0;
  private nextId = 1;

  private constructor(
    private readonly server: Server,
    readonly port: number,
    readonly host: string,
    private readonly options: TcpProxyOptions,
  ) {}

  static start(options: TcpProxyOptions): Promise<TcpProxy> {
    const host = options.host ?? '127.0.0.1';
    return new Promise((resolve, reject) => {
      let proxy: TcpProxy | undefined;
      const server = createServer({ allowHalfOpen: true }, (client) => proxy?.accept(client));
      server.once('error', reject);
      server.listen(options.port ?? 0, host, () => {
        server.off('error', reject);
        const address = server.address();
        if (!address || typeof address !== 'object') return reject(new Error('tcp proxy: no address'));
        proxy = new TcpProxy(server, address.port, host, options);
        resolve(proxy);
      });
    });
  }

  /** `host:port`, what a client should connect to. */
  get address(): string {
    return `${this.host}:${this.port}`;
  }

  /** Holds bytes (in memory, in order) until `resume`; applies to connections opened later too. */
  pause(directions: Directions = 'both'): void {
    for (const d of pick(directions)) this.pausedDirections.add(d);
  }

  /** Releases what `pause` and `holdWhen` held, proxy-wide and per connection. */
  resume(directions: Directions = 'both'): void {
    for (const d of pick(directions)) {
      this.pausedDirections.delete(d);
      this.holdingNew.delete(d);
      for (const c of this.connections) c.pipe(d).release();
    }
    for (const c of this.connections) c.pump();
  }

  isPaused(direction: Direction): boolean {
    return this.pausedDirections.has(direction);
  }

  /** Every chunk received from now on is forwarded `ms` later (order kept); 0 to stop. */
  delay(ms: number, directions: Directions = 'both'): void {
    for (const d of pick(directions)) this.delays[d] = Math.max(0, ms);
  }

  delayOf(direction: Direction): number {
    return this.delays[direction];
  }

  /**
   * Destroys every connection, dropping whatever was held, and with `refuseForMs` closes new
   * connections on arrival for that long (a client sees a reset, as from a peer that is down).
   */
  cut(options: { refuseForMs?: number } = {}): void {
    if (options.refuseForMs) this.refuseUntil = Date.now() + options.refuseForMs;
    for (const c of [...this.connections]) c.destroy();
  }

  stats(): ProxyStats {
    const held = { upstream: 0, downstream: 0 };
    for (const c of this.connections) {
      held.upstream += c.upstream.held;
      held.downstream += c.downstream.held;
    }
    return {
      accepted: this.totals.accepted,
      open: this.connections.size,
      refused: this.totals.refused,
      bytes: { ...this.totals.bytes },
      held,
      frames: this.totals.frames,
    };
  }

  /**
   * Resolves at the first client → target frame `match` accepts, after holding `options.hold`
   * from that frame on: by default the target's replies on that connection, so the request is
   * processed and its answer withheld until `resume()`. Needs `frames: true`.
   */
  holdWhen(match: (frame: FrameHead) => boolean, options: HoldOptions = {}): Promise<FrameHead> {
    if (!this.options.frames) throw new Error('tcp proxy: holdWhen needs { frames: true }');
    return new Promise((resolve, reject) => {
      const watch: Watch = { match, options, resolve };
      const { signal } = options;
      if (signal?.aborted) return reject(signal.reason);
      signal?.addEventListener('abort', () => {
        if (this.watches.delete(watch)) reject(signal.reason);
      });
      this.watches.add(watch);
    });
  }

  /** Calls `listener` with the head of every client → target frame; returns an unsubscribe. */
  onFrame(listener: (frame: FrameHead) => void): () => void {
    if (!this.options.frames) throw new Error('tcp proxy: onFrame needs { frames: true }');
    this.frameListeners.add(listener);
    return () => this.frameListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.watches.clear();
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  // The rest is called by connections and pipes.

  accept(client: Socket): void {
    if (Date.now() < this.refuseUntil) {
      this.totals.refused++;
      client.on('error', () => undefined);
      client.resetAndDestroy();
      return;
    }
    this.totals.accepted++;
    client.setNoDelay(true);
    const target = connect({ host: this.options.target.host ?? '127.0.0.1', port: this.options.target.port, allowHalfOpen: true });
    target.setNoDelay(true);
    const connection = new Connection(this, this.nextId++, client, target, this.options.frames ?? false);
    for (const d of this.holdingNew) connection.pipe(d).holdFromNext();
    this.connections.add(connection);
  }

  sawFrame(frame: FrameHead, connection: Connection): void {
    this.totals.frames++;
    for (const listener of this.frameListeners) listener(frame);
    for (const watch of [...this.watches]) {
      if (!watch.match(frame)) continue;
      this.watches.delete(watch);
      const hold = pick(watch.options.hold ?? 'downstream');
      const connections = watch.options.scope === 'proxy' ? [...this.connections] : [connection];
      for (const d of hold) {
        if (watch.options.scope === 'proxy') this.holdingNew.add(d);
        for (const c of connections) c.pipe(d).holdFromNext();
      }
      watch.resolve(frame);
    }
  }

  counted(direction: Direction, bytes: number): void {
    this.totals.bytes[direction] += bytes;
  }

  forget(connection: Connection): void {
    this.connections.delete(connection);
  }
}

/**
 * A kafkajs socket factory that sends every broker connection through `proxy`, whatever address
 * the broker advertises: the broker keeps advertising its real port (other clients are not
 * affected) and this client's traffic, replies included, is the proxy's to hold or cut.
 * Only meaningful for a single-node cluster, where the proxy's one target is every broker.
 */
export function kafkaSocketFactory(proxy: TcpProxy): ISocketFactory {
  return ({ onConnect }) => {
    const socket = connect({ host: proxy.host, port: proxy.port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    return socket;
  };
}
