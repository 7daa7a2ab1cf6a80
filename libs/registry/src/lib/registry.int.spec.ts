import { SchemaRegistry, SchemaType } from '@kafkajs/confluent-schema-registry';
// Test-only: the shared broker comes from devstack, which the registry itself never imports.
import { testEnvironment, type TestEnvironment } from '@waybill/devstack';
import { createLogger } from '@waybill/platform';
import { startRegistry, type RunningRegistry } from '../index';

const logger = createLogger('registry-test', process.env.REGISTRY_TEST_LOG_LEVEL ?? 'warn');

const parcel = {
  type: 'record',
  name: 'ParcelWeighed',
  namespace: 'waybill.test',
  fields: [
    { name: 'parcelId', type: 'string' },
    { name: 'grams', type: 'int' },
  ],
};

async function call(base: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/vnd.schemaregistry.v1+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & unknown[] };
}

async function eventually<T>(read: () => Promise<T>, accept: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (accept(value) || Date.now() > deadline) return value;
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('the registry on a real broker', () => {
  let env: TestEnvironment;
  const topics: string[] = [];
  const running: RunningRegistry[] = [];

  const start = async (topic: string) => {
    const registry = await startRegistry({ port: 0, host: '127.0.0.1', brokers: env.brokers, topic, logger });
    running.push(registry);
    return registry;
  };
  const newTopic = () => {
    const topic = env.uniqueName('_schemas');
    topics.push(topic);
    return topic;
  };

  beforeAll(() => {
    env = testEnvironment();
  });
  afterAll(async () => {
    await Promise.all(running.map((r) => r.close()));
    await (await env.admin()).deleteTopics({ topics }).catch(() => undefined);
    await env.cleanup();
  });

  it('serves the unmodified @kafkajs/confluent-schema-registry client: register, encode, decode, re-register', async () => {
    const registry = await start(newTopic());
    const client = new SchemaRegistry({ host: registry.url });
    const { id } = await client.register({ type: SchemaType.AVRO, schema: JSON.stringify(parcel) });
    expect(id).toBeGreaterThan(0);

    const encoded = await client.encode(id, { parcelId: 'p-1', grams: 1250 });
    expect(encoded.readUInt8(0)).toBe(0);
    expect(encoded.readInt32BE(1)).toBe(id);
    const fresh = new SchemaRegistry({ host: registry.url });
    expect(await fresh.decode(encoded)).toEqual({ parcelId: 'p-1', grams: 1250 });

    const again = await fresh.register({ type: SchemaType.AVRO, schema: JSON.stringify(parcel, null, 4) });
    expect(again.id).toBe(id);
    expect(await fresh.getLatestSchemaId('waybill.test.ParcelWeighed')).toBe(id);

    const config = await call(registry.url, 'GET', '/config/waybill.test.ParcelWeighed');
    expect(config).toEqual({ status: 200, body: { compatibilityLevel: 'BACKWARD' } });
    const versions = await call(registry.url, 'GET', '/subjects/waybill.test.ParcelWeighed/versions');
    expect(versions.body).toEqual([1]);
  });

  it('keeps every id, version and config across a restart on the same topic', async () => {
    const topic = newTopic();
    const first = await start(topic);
    const a = await call(first.url, 'POST', '/subjects/orders-value/versions', { schema: JSON.stringify(parcel) });
    const evolved = { ...parcel, fields: [...parcel.fields, { name: 'note', type: ['null', 'string'], default: null }] };
    const b = await call(first.url, 'POST', '/subjects/orders-value/versions', { schema: JSON.stringify(evolved) });
    const c = await call(first.url, 'POST', '/subjects/other-value/versions', { schema: JSON.stringify(evolved) });
    await call(first.url, 'PUT', '/config/orders-value', { compatibility: 'FULL' });
    await call(first.url, 'PUT', '/config', { compatibility: 'NONE' });
    expect(c.body.id).toBe(b.body.id);
    await first.close();

    const second = await start(topic);
    expect((await call(second.url, 'GET', '/subjects/orders-value/versions/1')).body).toEqual({
      subject: 'orders-value',
      version: 1,
      id: a.body.id,
      schema: JSON.stringify(parcel),
    });
    expect((await call(second.url, 'GET', '/subjects/orders-value/versions/latest')).body).toMatchObject({ version: 2, id: b.body.id });
    expect((await call(second.url, 'GET', `/schemas/ids/${b.body.id}`)).body).toEqual({ schema: JSON.stringify(evolved) });
    expect((await call(second.url, 'GET', '/config/orders-value')).body).toEqual({ compatibilityLevel: 'FULL' });
    expect((await call(second.url, 'GET', '/config')).body).toEqual({ compatibilityLevel: 'NONE' });
    expect((await call(second.url, 'GET', '/subjects')).body).toEqual(['orders-value', 'other-value']);
    const third = { ...parcel, name: 'ParcelMeasured' };
    const d = await call(second.url, 'POST', '/subjects/measured-value/versions', { schema: JSON.stringify(third) });
    expect(d.body.id).toBe(Math.max(a.body.id as number, b.body.id as number) + 1);
  });

  it('lets two registries share a topic: writes on one are seen by the other and racing ids stay distinct', async () => {
    const topic = newTopic();
    const [a, b] = await Promise.all([start(topic), start(topic)]);
    const registered = await call(a.url, 'POST', '/subjects/shared-value/versions', { schema: JSON.stringify(parcel) });
    const seen = await eventually(
      () => call(b.url, 'GET', `/schemas/ids/${registered.body.id}`),
      (r) => r.status === 200,
    );
    expect(seen.body).toEqual({ schema: JSON.stringify(parcel) });

    const schemas = Array.from({ length: 6 }, (_, i) => JSON.stringify({ ...parcel, name: `Race${i}` }));
    const results = await Promise.all(
      schemas.map((schema, i) => call(i % 2 === 0 ? a.url : b.url, 'POST', `/subjects/race-${i}-value/versions`, { schema })),
    );
    expect(results.map((r) => r.status)).toEqual(schemas.map(() => 200));
    const ids = results.map((r) => r.body.id as number);
    expect(new Set([...ids, registered.body.id]).size).toBe(7);

    // Both processes answer identically for every id, once each has read the other's writes.
    for (const [i, id] of ids.entries()) {
      for (const registry of [a, b]) {
        const found = await eventually(
          () => call(registry.url, 'GET', `/schemas/ids/${id}`),
          (r) => r.status === 200,
        );
        expect(found.body).toEqual({ schema: schemas[i] });
      }
    }

    // Same-subject race: both write version 2 candidates; the log decides, and both agree.
    const evolve = (field: string) =>
      JSON.stringify({ ...parcel, fields: [...parcel.fields, { name: field, type: ['null', 'string'], default: null }] });
    const [fromA, fromB] = await Promise.all([
      call(a.url, 'POST', '/subjects/shared-value/versions', { schema: evolve('fromA') }),
      call(b.url, 'POST', '/subjects/shared-value/versions', { schema: evolve('fromB') }),
    ]);
    expect([fromA.status, fromB.status]).toEqual([200, 200]);
    expect(fromA.body.id).not.toBe(fromB.body.id);
    const listOn = (url: string) =>
      eventually(
        () => call(url, 'GET', '/subjects/shared-value/versions'),
        (r) => Array.isArray(r.body) && r.body.length === 3,
      );
    expect((await listOn(a.url)).body).toEqual([1, 2, 3]);
    expect((await listOn(b.url)).body).toEqual([1, 2, 3]);
    for (const version of [2, 3]) {
      const [onA, onB] = await Promise.all([a, b].map((r) => call(r.url, 'GET', `/subjects/shared-value/versions/${version}`)));
      expect(onA.body).toEqual(onB.body);
    }
  });
});
