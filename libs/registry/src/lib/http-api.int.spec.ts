// Test-only: the shared broker comes from devstack, which the registry itself never imports.
import { testEnvironment, type TestEnvironment } from '@waybill/devstack';
import { createLogger } from '@waybill/platform';
import { startRegistry, type RunningRegistry } from '../index';

const logger = createLogger('registry-test', process.env.REGISTRY_TEST_LOG_LEVEL ?? 'warn');
const CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

const schemaOf = (fields: object[], name = 'Shipment') => JSON.stringify({ type: 'record', name, namespace: 'waybill.test', fields });
const base = [{ name: 'shipmentId', type: 'string' }];
const v1 = schemaOf(base);
const optionalNote = schemaOf([...base, { name: 'note', type: ['null', 'string'], default: null }]);
const requiredWeight = schemaOf([...base, { name: 'weight', type: 'int' }]);
const noId = schemaOf([{ name: 'note', type: ['null', 'string'], default: null }]);

interface Reply {
  status: number;
  contentType: string | null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  body: any;
}

describe('the REST API', () => {
  let env: TestEnvironment;
  let registry: RunningRegistry;
  const topics: string[] = [];

  async function request(method: string, path: string, body?: unknown, rawBody?: string): Promise<Reply> {
    const res = await fetch(`${registry.url}${path}`, {
      method,
      headers: { 'content-type': CONTENT_TYPE },
      body: rawBody ?? (body === undefined ? undefined : JSON.stringify(body)),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = JSON.parse(text);
    } catch {
      // raw schema endpoints answer the schema text, which the caller compares as text
    }
    return { status: res.status, contentType: res.headers.get('content-type'), body: parsed };
  }
  const register = (subject: string, schema: string) => request('POST', `/subjects/${subject}/versions`, { schema });

  beforeAll(() => {
    env = testEnvironment();
  });
  beforeEach(async () => {
    const topic = env.uniqueName('_schemas');
    topics.push(topic);
    registry = await startRegistry({ port: 0, host: '127.0.0.1', brokers: env.brokers, topic, logger });
  });
  afterEach(async () => {
    await registry.close();
  });
  afterAll(async () => {
    await (await env.admin()).deleteTopics({ topics }).catch(() => undefined);
    await env.cleanup();
  });

  describe('reading', () => {
    it('answers GET / with {} and serves versions, latest, raw schema, ids and subjects in Confluent shapes', async () => {
      expect(await request('GET', '/')).toMatchObject({ status: 200, body: {}, contentType: expect.stringContaining(CONTENT_TYPE) });
      const { body: first } = await register('shipments-value', v1);
      const { body: second } = await register('shipments-value', optionalNote);
      expect(second.id).toBe(first.id + 1);
      expect((await request('GET', '/subjects/shipments-value/versions/latest')).body).toEqual({
        subject: 'shipments-value',
        version: 2,
        id: second.id,
        schema: optionalNote,
      });
      expect((await request('GET', '/subjects/shipments-value/versions/-1')).body.version).toBe(2);
      expect((await request('GET', '/subjects/shipments-value/versions/1/schema')).body).toEqual(JSON.parse(v1));
      expect((await request('GET', `/schemas/ids/${first.id}/versions`)).body).toEqual([{ subject: 'shipments-value', version: 1 }]);
      expect((await request('GET', '/subjects')).body).toEqual(['shipments-value']);
      expect((await request('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
    });

    it('looks a schema up under a subject, ignoring whitespace, and reuses the id under another subject', async () => {
      const { body } = await register('a-value', v1);
      const spaced = JSON.stringify(JSON.parse(v1), null, 2);
      expect((await request('POST', '/subjects/a-value', { schema: spaced })).body).toEqual({ subject: 'a-value', version: 1, id: body.id, schema: v1 });
      expect((await register('a-value', spaced)).body).toEqual({ id: body.id });
      expect((await request('GET', '/subjects/a-value/versions')).body).toEqual([1]);
      expect((await register('b-value', v1)).body).toEqual({ id: body.id });
      expect(await request('POST', '/subjects/a-value', { schema: optionalNote })).toMatchObject({ status: 404, body: { error_code: 40403 } });
      expect(await request('POST', '/subjects/nobody', { schema: v1 })).toMatchObject({ status: 404, body: { error_code: 40401 } });
    });
  });

  describe('compatibility', () => {
    it('under BACKWARD accepts an optional field with a default and refuses a required one with 409', async () => {
      await register('s-value', v1);
      expect((await register('s-value', optionalNote)).status).toBe(200);
      const refused = await register('s-value', requiredWeight);
      expect(refused.status).toBe(409);
      expect(refused.body.error_code).toBe(409);
      expect(refused.body.message).toMatch(/incompatible.*weight/);
      expect((await request('GET', '/subjects/s-value/versions')).body).toEqual([1, 2]);
    });

    it('under FORWARD accepts a required field but refuses dropping one old readers need', async () => {
      expect((await request('PUT', '/config/f-value', { compatibility: 'FORWARD' })).body).toEqual({ compatibility: 'FORWARD' });
      await register('f-value', v1);
      expect((await register('f-value', requiredWeight)).status).toBe(200);
      expect((await register('f-value', schemaOf([{ name: 'weight', type: 'int' }]))).status).toBe(409);
    });

    it('under FULL refuses both directions and under NONE accepts anything', async () => {
      await request('PUT', '/config/full-value', { compatibility: 'full' });
      await register('full-value', v1);
      expect((await register('full-value', requiredWeight)).status).toBe(409);
      expect((await register('full-value', noId)).status).toBe(409);
      expect((await register('full-value', optionalNote)).status).toBe(200);

      await request('PUT', '/config/none-value', { compatibility: 'NONE' });
      await register('none-value', v1);
      expect((await register('none-value', JSON.stringify('string'))).status).toBe(200);
    });

    it('_TRANSITIVE checks every version: v3 readable against v2 but not v1 is refused', async () => {
      const first = schemaOf([{ name: 'kind', type: 'string' }]);
      const second = schemaOf([
        { name: 'kind', type: 'string', default: 'box' },
        { name: 'count', type: 'int', default: 1 },
      ]);
      const third = schemaOf([{ name: 'count', type: 'int' }]);
      for (const subject of ['plain-value', 'trans-value']) {
        await register(subject, first);
        await register(subject, second);
      }
      await request('PUT', '/config/trans-value', { compatibility: 'BACKWARD_TRANSITIVE' });
      expect((await register('plain-value', third)).status).toBe(200);
      const refused = await register('trans-value', third);
      expect(refused).toMatchObject({ status: 409, body: { error_code: 409 } });
      expect(refused.body.message).toMatch(/version 1/);

      const check = (path: string) => request('POST', `/compatibility/subjects/trans-value/versions${path}`, { schema: third });
      expect((await check('/latest')).body).toEqual({ is_compatible: true });
      expect((await check('/1')).body).toEqual({ is_compatible: false });
      const verbose = await check('?verbose=true');
      expect(verbose.body.is_compatible).toBe(false);
      expect(verbose.body.messages[0]).toMatch(/cannot read data written with version 1/);
    });

    it('keeps subject config apart from global: 404 40408 without it, global only with defaultToGlobal', async () => {
      const missing = await request('GET', '/config/fresh-value');
      expect(missing).toMatchObject({ status: 404, body: { error_code: 40408, message: "Subject 'fresh-value' does not have subject-level compatibility configured" } });
      expect((await request('PUT', '/config', { compatibility: 'FULL_TRANSITIVE' })).body).toEqual({ compatibility: 'FULL_TRANSITIVE' });
      expect((await request('GET', '/config/fresh-value')).status).toBe(404);
      expect((await request('GET', '/config/fresh-value?defaultToGlobal=true')).body).toEqual({ compatibilityLevel: 'FULL_TRANSITIVE' });
      await request('PUT', '/config/fresh-value', { compatibility: 'NONE' });
      expect((await request('GET', '/config/fresh-value')).body).toEqual({ compatibilityLevel: 'NONE' });
      expect((await request('DELETE', '/config/fresh-value')).body).toEqual({ compatibilityLevel: 'NONE' });
      expect((await request('GET', '/config/fresh-value')).status).toBe(404);
    });
  });

  describe('bad input', () => {
    it('answers every kind of bad request with its documented body and loses nothing', async () => {
      const { body: kept } = await register('kept-value', v1);
      const oneMegabyte = JSON.stringify({ schema: JSON.stringify({ type: 'string', doc: 'x'.repeat(1024 * 1024) }) });
      const cases: Array<[Promise<Reply>, number, number]> = [
        [request('POST', '/subjects/kept-value/versions', undefined, '{"schema": '), 400, 400],
        [register('kept-value', '{"type":"record","name":"Broken","fields":[{"name":"a","type":"nope"}]}'), 422, 42201],
        [register('kept-value', 'not json at all'), 422, 42201],
        [request('POST', '/subjects/kept-value/versions', { schema: v1, schemaType: 'PROTOBUF' }), 422, 42201],
        [request('POST', '/subjects/kept-value/versions', {}), 422, 42201],
        [request('GET', '/subjects/unknown-value/versions'), 404, 40401],
        [request('GET', '/subjects/kept-value/versions/7'), 404, 40402],
        [request('GET', '/subjects/kept-value/versions/zero'), 422, 42202],
        [request('GET', '/subjects/kept-value/versions/0'), 422, 42202],
        [request('GET', '/schemas/ids/9999'), 404, 40403],
        [request('PUT', '/config', { compatibility: 'SIDEWAYS' }), 422, 42203],
        [request('PUT', '/config/kept-value', {}), 422, 42203],
        [request('POST', '/subjects/kept-value/versions', undefined, oneMegabyte), 413, 413],
        [request('GET', '/no/such/route'), 404, 404],
      ];
      for (const [reply, status, errorCode] of cases) {
        const { status: gotStatus, body, contentType } = await reply;
        expect({ status: gotStatus, errorCode: body.error_code }).toEqual({ status, errorCode });
        expect(typeof body.message).toBe('string');
        expect(contentType).toContain(CONTENT_TYPE);
      }
      expect((await request('GET', '/subjects/kept-value/versions/latest')).body).toEqual({ subject: 'kept-value', version: 1, id: kept.id, schema: v1 });
      expect((await request('GET', '/config')).body).toEqual({ compatibilityLevel: 'BACKWARD' });
      expect((await request('GET', '/subjects')).body).toEqual(['kept-value']);
    });
  });

  describe('deleting', () => {
    it('soft-deletes a subject, keeps its ids resolvable, and hard-deletes only after that', async () => {
      const { body: one } = await register('d-value', v1);
      await register('d-value', optionalNote);
      expect(await request('DELETE', '/subjects/d-value?permanent=true')).toMatchObject({ status: 404, body: { error_code: 40405 } });
      expect((await request('DELETE', '/subjects/d-value')).body).toEqual([1, 2]);
      expect(await request('DELETE', '/subjects/d-value')).toMatchObject({ status: 404, body: { error_code: 40404 } });
      expect((await request('GET', '/subjects')).body).toEqual([]);
      expect((await request('GET', '/subjects?deleted=true')).body).toEqual(['d-value']);
      expect(await request('GET', '/subjects/d-value/versions')).toMatchObject({ status: 404, body: { error_code: 40401 } });
      expect((await request('GET', '/subjects/d-value/versions?deleted=true')).body).toEqual([1, 2]);
      expect((await request('GET', `/schemas/ids/${one.id}`)).body).toEqual({ schema: v1 });

      // Registering again after a soft delete keeps the id and continues the version numbers.
      expect((await register('d-value', v1)).body).toEqual({ id: one.id });
      expect((await request('GET', '/subjects/d-value/versions')).body).toEqual([3]);
      await request('DELETE', '/subjects/d-value');

      expect((await request('DELETE', '/subjects/d-value?permanent=true')).body).toEqual([1, 2, 3]);
      expect((await request('GET', '/subjects?deleted=true')).body).toEqual([]);
      expect(await request('GET', `/schemas/ids/${one.id}`)).toMatchObject({ status: 404, body: { error_code: 40403 } });
      expect(await request('DELETE', '/subjects/d-value')).toMatchObject({ status: 404, body: { error_code: 40401 } });
    });

    it('soft- and hard-deletes single versions with Confluent error codes', async () => {
      await register('dv-value', v1);
      await register('dv-value', optionalNote);
      expect(await request('DELETE', '/subjects/dv-value/versions/1?permanent=true')).toMatchObject({ status: 404, body: { error_code: 40407 } });
      expect((await request('DELETE', '/subjects/dv-value/versions/1')).body).toBe(1);
      expect(await request('DELETE', '/subjects/dv-value/versions/1')).toMatchObject({ status: 404, body: { error_code: 40406 } });
      expect(await request('GET', '/subjects/dv-value/versions/1')).toMatchObject({ status: 404, body: { error_code: 40402 } });
      expect((await request('GET', '/subjects/dv-value/versions/1?deleted=true')).body.version).toBe(1);
      expect((await request('DELETE', '/subjects/dv-value/versions/1?permanent=true')).body).toBe(1);
      expect((await request('GET', '/subjects/dv-value/versions?deleted=true')).body).toEqual([2]);
      expect((await request('DELETE', '/subjects/dv-value/versions/latest')).body).toBe(2);
      expect(await request('DELETE', '/subjects/dv-value/versions/9')).toMatchObject({ status: 404, body: { error_code: 40402 } });
    });

    it('survives a restart with deletions applied', async () => {
      await register('r-value', v1);
      const { body: kept } = await register('r-value', optionalNote);
      await request('DELETE', '/subjects/r-value/versions/1');
      await request('DELETE', '/subjects/r-value/versions/1?permanent=true');
      const topic = topics[topics.length - 1];
      await registry.close();
      registry = await startRegistry({ port: 0, host: '127.0.0.1', brokers: env.brokers, topic, logger });
      expect((await request('GET', '/subjects/r-value/versions?deleted=true')).body).toEqual([2]);
      expect((await request('GET', '/subjects/r-value/versions/latest')).body.id).toBe(kept.id);
    });
  });
});
