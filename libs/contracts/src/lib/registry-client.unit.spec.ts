import { install, mockRequest, uninstall } from 'mappersmith/test';
import { SchemaNotFoundError } from './errors';
import { kafkajsRegistryClient } from './registry-client';

// mappersmith's mock gateway stands in for the HTTP socket, so the stock client's own middleware
// (retries, error mapping, content types) still runs.
const HOST = 'http://registry.invalid';
const SUBJECT = 'shipment.events-dev.waybill.shipment.ShipmentDelivered';
const SCHEMA = JSON.stringify({
  type: 'record',
  name: 'ShipmentDelivered',
  namespace: 'dev.waybill.shipment',
  fields: [{ name: 'receivedBy', type: 'string' }, { name: 'at', type: { type: 'long', logicalType: 'timestamp-millis' } }],
});
const json = { 'content-type': 'application/vnd.schemaregistry.v1+json' };

describe('kafkajsRegistryClient', () => {
  beforeEach(() => install());
  afterEach(() => uninstall());

  it('registers an Avro schema under the subject it is given and returns the id', async () => {
    mockRequest({ method: 'get', url: `${HOST}/config/${encodeURIComponent(SUBJECT)}`, response: { status: 404, headers: json, body: { error_code: 40401, message: 'Subject not found' } } });
    const post = mockRequest({ method: 'post', url: `${HOST}/subjects/${encodeURIComponent(SUBJECT)}/versions`, body: JSON.stringify({ schema: SCHEMA }), response: { status: 200, headers: json, body: { id: 7 } } });
    mockRequest({ method: 'put', url: `${HOST}/config/${encodeURIComponent(SUBJECT)}`, body: JSON.stringify({ compatibility: 'BACKWARD' }), response: { status: 200, headers: json, body: { compatibility: 'BACKWARD' } } });
    const client = kafkajsRegistryClient(HOST, { retry: { retries: 0 } });
    expect(await client.register(SUBJECT, SCHEMA)).toBe(7);
    expect(post.callsCount()).toBe(1);
  });

  it('reads a schema back by id as Avro JSON', async () => {
    mockRequest({ method: 'get', url: `${HOST}/schemas/ids/7`, response: { status: 200, headers: json, body: { schema: SCHEMA } } });
    const back = JSON.parse(await kafkajsRegistryClient(HOST, { retry: { retries: 0 } }).getSchema(7));
    expect(back).toMatchObject({ name: 'dev.waybill.shipment.ShipmentDelivered', type: 'record' });
    expect(back.fields.map((f: { name: string }) => f.name)).toEqual(['receivedBy', 'at']);
  });

  it('turns an unknown id into SchemaNotFoundError and anything else into a plain failure', async () => {
    mockRequest({ method: 'get', url: `${HOST}/schemas/ids/8`, response: { status: 404, headers: json, body: { error_code: 40403, message: 'Schema not found' } } });
    mockRequest({ method: 'get', url: `${HOST}/schemas/ids/9`, response: { status: 500, headers: json, body: { error_code: 50001, message: 'store' } } });
    const client = kafkajsRegistryClient(HOST, { retry: { retries: 0 } });
    await expect(client.getSchema(8)).rejects.toBeInstanceOf(SchemaNotFoundError);
    const other = await client.getSchema(9).catch((error: unknown) => error);
    expect(other).not.toBeInstanceOf(SchemaNotFoundError);
    expect(other).toMatchObject({ status: 500 });
  });
});
