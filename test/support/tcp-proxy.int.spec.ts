import { connect, createServer, type Server, type Socket } from 'node:net';
import { Kafka, logLevel } from 'kafkajs';
import { freePort, testEnvironment } from '@waybill/devstack';
import { KafkaApiKey, kafkaRequestHeader, kafkaSocketFactory, TcpProxy, type FrameHead } from './tcp-proxy';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** An echo server that also remembers what reached it, so a test can tell "held" from "lost". */
async function echoServer(): Promise<{ server: Server; port: number; received: () => Buffer; sockets: Set<Socket> }> {
  const chunks: Buffer[] = [];
  const sockets = new Set<Socket>();
  const server = createServer((socket) => {
    sockets.add(socket);
    socket.on('data', (chunk) => {
      chunks.push(chunk);
      socket.write(chunk);
    });
    socket.on('error', () => undefined);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (!address || typeof address !== 'object') throw new Error('no address');
  return { server, port: address.port, received: () => Buffer.concat(chunks), sockets };
}

/** A connected client that collects what it reads and notes when the connection ends. */
async function client(port: number): Promise<{ socket: Socket; read: () => string; closed: Promise<void> }> {
  const socket = connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk) => chunks.push(chunk));
  socket.on('error', () => undefined);
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  return { socket, read: () => Buffer.concat(chunks).toString(), closed };
}

async function eventually(what: string, probe: () => boolean, timeoutMs = 3_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`not ${what} after ${timeoutMs} ms`);
    await sleep(10);
  }
}

/** A length-prefixed frame shaped like a Kafka request header (api key, version, correlation id, client id). */
function frame(apiKey: number, correlationId: number, body = 'x'): Buffer {
  const clientId = Buffer.from('test-client');
  const payload = Buffer.concat([Buffer.alloc(8), Buffer.alloc(2), clientId, Buffer.from(body)]);
  payload.writeInt16BE(apiKey, 0);
  payload.writeInt16BE(1, 2);
  payload.writeInt32BE(correlationId, 4);
  payload.writeInt16BE(clientId.length, 8);
  const size = Buffer.alloc(4);
  size.writeInt32BE(payload.length, 0);
  return Buffer.concat([size, payload]);
}

describe('TcpProxy', () => {
  let echo: Awaited<ReturnType<typeof echoServer>>;
  let proxy: TcpProxy;

  beforeEach(async () => {
    echo = await echoServer();
    proxy = await TcpProxy.start({ target: { port: echo.port } });
  });

  afterEach(async () => {
    await proxy.close();
    for (const s of echo.sockets) s.destroy();
    await new Promise((resolve) => echo.server.close(resolve));
  });

  it('refuses holdWhen and onFrame unless it parses frames', () => {
    expect(() => proxy.onFrame(() => undefined)).toThrow('frames: true');
    expect(() => proxy.holdWhen(() => true)).toThrow('frames: true');
  });

  it('forwards both ways and counts connections and bytes', async () => {
    const c = await client(proxy.port);
    c.socket.write('hello');
    await eventually('echoed', () => c.read() === 'hello');
    const stats = proxy.stats();
    expect(stats).toMatchObject({ accepted: 1, open: 1, refused: 0, bytes: { upstream: 5, downstream: 5 }, held: { upstream: 0, downstream: 0 } });
    c.socket.end();
    await c.closed;
    await eventually('forgotten', () => proxy.stats().open === 0);
  });

  it('holds replies while downstream is paused and delivers them in order on resume', async () => {
    const c = await client(proxy.port);
    proxy.pause('downstream');
    c.socket.write('one ');
    c.socket.write('two');
    await eventually('received by the target', () => echo.received().toString() === 'one two');
    await sleep(100);
    expect(c.read()).toBe('');
    expect(proxy.stats().held.downstream).toBe(7);
    proxy.resume();
    await eventually('delivered', () => c.read() === 'one two');
    expect(proxy.stats().held.downstream).toBe(0);
  });

  it('holds requests while upstream is paused, for connections opened later too', async () => {
    proxy.pause('upstream');
    const c = await client(proxy.port);
    c.socket.write('request');
    await sleep(150);
    expect(echo.received().length).toBe(0);
    expect(proxy.stats().held.upstream).toBe(7);
    proxy.resume('upstream');
    await eventually('echoed', () => c.read() === 'request');
  });

  it('delays each direction by the given time', async () => {
    const c = await client(proxy.port);
    proxy.delay(250, 'downstream');
    const sent = Date.now();
    c.socket.write('slow');
    await eventually('echoed', () => c.read() === 'slow');
    expect(Date.now() - sent).toBeGreaterThanOrEqual(240);
    proxy.delay(0);
    const again = Date.now();
    c.socket.write('fast');
    await eventually('echoed', () => c.read() === 'slowfast');
    expect(Date.now() - again).toBeLessThan(200);
  });

  it('cuts every connection, drops what it held, and refuses new ones for a while', async () => {
    const c = await client(proxy.port);
    proxy.pause('downstream');
    c.socket.write('lost');
    await eventually('received by the target', () => echo.received().length === 4);
    proxy.cut({ refuseForMs: 400 });
    await c.closed;
    expect(c.read()).toBe('');
    expect(proxy.stats().open).toBe(0);

    const refused = connect({ host: '127.0.0.1', port: proxy.port });
    const outcome = await new Promise<string>((resolve) => {
      refused.once('error', (err: NodeJS.ErrnoException) => resolve(err.code ?? 'error'));
      refused.once('close', () => resolve('closed'));
    });
    expect(['ECONNRESET', 'closed', 'EPIPE']).toContain(outcome);
    expect(proxy.stats().refused).toBe(1);

    await sleep(450);
    proxy.resume();
    const later = await client(proxy.port);
    later.socket.write('back');
    await eventually('echoed', () => later.read() === 'back');
    expect(proxy.stats().accepted).toBe(2);
  });

  it('closes the client when the target refuses the connection', async () => {
    const nowhere = await TcpProxy.start({ target: { port: await freePort() } });
    try {
      const c = await client(nowhere.port);
      await c.closed;
      await eventually('forgotten', () => nowhere.stats().open === 0);
    } finally {
      await nowhere.close();
    }
  });

  /** Frames on: plain text would be read as a length prefix ("hell" = 1.7 GB) and held for good. */
  async function framedProxy(): Promise<TcpProxy> {
    await proxy.close();
    proxy = await TcpProxy.start({ target: { port: echo.port }, frames: true });
    return proxy;
  }

  it('holds the reply to the first frame a predicate matches, even when the frame arrives in pieces', async () => {
    const proxy = await framedProxy();
    const c = await client(proxy.port);
    const heads: FrameHead[] = [];
    proxy.onFrame((f) => heads.push(f));
    const held = proxy.holdWhen((f) => kafkaRequestHeader(f)?.apiKey === KafkaApiKey.EndTxn);

    const first = frame(KafkaApiKey.Produce, 1);
    c.socket.write(first);
    await eventually('first reply', () => c.read().length === first.length);

    const endTxn = frame(KafkaApiKey.EndTxn, 2, 'y'.repeat(100));
    for (const byte of endTxn) c.socket.write(Buffer.from([byte]));
    const matched = await held;
    expect(kafkaRequestHeader(matched)).toEqual({ apiKey: KafkaApiKey.EndTxn, apiVersion: 1, correlationId: 2, clientId: 'test-client' });
    expect(matched.size + 4).toBe(endTxn.length);

    await eventually('EndTxn received by the target', () => echo.received().length === first.length + endTxn.length);
    await sleep(100);
    expect(c.read().length).toBe(first.length);
    expect(proxy.stats().held.downstream).toBe(endTxn.length);

    proxy.resume();
    await eventually('EndTxn reply', () => c.read().length === first.length + endTxn.length);
    expect(heads.map((h) => kafkaRequestHeader(h)?.correlationId)).toEqual([1, 2]);
    expect(proxy.stats().frames).toBe(2);
  });

  it('stops watching when its signal aborts', async () => {
    const proxy = await framedProxy();
    const c = await client(proxy.port);
    const abort = new AbortController();
    const held = proxy.holdWhen(() => true, { signal: abort.signal });
    abort.abort(new Error('not needed'));
    await expect(held).rejects.toThrow('not needed');
    c.socket.write(frame(KafkaApiKey.EndTxn, 3));
    await eventually('echoed', () => c.read().length === frame(KafkaApiKey.EndTxn, 3).length);
  });

  it('can hold the matching request itself, before any of it reaches the target', async () => {
    const proxy = await framedProxy();
    const c = await client(proxy.port);
    const held = proxy.holdWhen((f) => kafkaRequestHeader(f)?.apiKey === KafkaApiKey.WriteTxnMarkers, { hold: 'upstream' });
    const markers = frame(KafkaApiKey.WriteTxnMarkers, 7);
    c.socket.write(Buffer.concat([frame(KafkaApiKey.Metadata, 6), markers]));
    await held;
    await eventually('Metadata received', () => echo.received().length === markers.length);
    await sleep(100);
    expect(echo.received().length).toBe(markers.length);
    proxy.resume();
    await eventually('WriteTxnMarkers received', () => echo.received().length === 2 * markers.length);
  });
});

describe('TcpProxy in front of the test broker', () => {
  const env = testEnvironment();
  afterAll(() => env.cleanup());

  it('holds the EndTxn reply of one commit until resumed', async () => {
    const [host, port] = env.brokers[0].split(':');
    const proxy = await TcpProxy.start({ target: { host, port: Number(port) }, frames: true });
    const topic = env.uniqueName('proxied');
    await env.createTopics([{ topic }]);
    const kafka = new Kafka({ brokers: [proxy.address], clientId: 'tcp-proxy-test', socketFactory: kafkaSocketFactory(proxy), logLevel: logLevel.NOTHING });
    const producer = kafka.producer({ transactionalId: env.uniqueName('proxied-tx'), idempotent: true, maxInFlightRequests: 1 });
    try {
      await producer.connect();
      const txn = await producer.transaction();
      await txn.send({ topic, messages: [{ value: 'v' }] });
      const held = proxy.holdWhen((f) => kafkaRequestHeader(f)?.apiKey === KafkaApiKey.EndTxn);
      let committed = false;
      const commit = txn.commit().then(() => (committed = true));
      await held;
      await sleep(1_000);
      expect(committed).toBe(false);
      expect(proxy.stats().held.downstream).toBeGreaterThan(0);
      proxy.resume();
      await commit;
      expect(committed).toBe(true);
    } finally {
      await producer.disconnect();
      await proxy.close();
    }
  });
});
