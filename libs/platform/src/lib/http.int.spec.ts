import { request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHttpApp, jsonErrorHandler, listen } from './http';
import { createLogger } from './logging';
import { createMetrics } from './metrics';
import { openApiDocument } from './openapi';

// Bytes that are not UTF-8 are refused, never turned into U+FFFD: in JSON bodies, in query strings
// and in paths. An app on a local port, no Kafka or Redis.

let server: Server;
let port: number;
const seen: unknown[] = [];

beforeAll(async () => {
  const logger = createLogger('http-test', 'silent');
  const { app } = createHttpApp({ logger, metrics: createMetrics('http-test'), apiKeys: '', rateLimit: { perMinute: 100_000, anonymousPerMinute: 100_000 }, openApi: openApiDocument({ title: 'http test', description: 'an echo route' }) });
  app.post('/echo', (req, res) => {
    seen.push(req.body);
    res.json({ body: req.body });
  });
  app.get('/things/:id', (req, res) => {
    res.json({ id: req.params.id, query: req.query });
  });
  app.use(jsonErrorHandler(logger));
  server = await listen(app, 0, '127.0.0.1');
  port = (server.address() as AddressInfo).port;
});

afterAll(() => new Promise((resolve) => server.close(resolve)));

beforeEach(() => {
  seen.length = 0;
});

/** A raw request (fetch would re-encode the path, and a body here is bytes, not a string). */
function raw(method: string, path: string, body?: Buffer, contentType = 'application/json'): Promise<{ status: number; json: Record<string, unknown> | string }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host: '127.0.0.1', port, method, path, headers: body ? { 'content-type': contentType, 'content-length': body.length } : {} }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: Record<string, unknown> | string;
        try {
          json = JSON.parse(text);
        } catch {
          json = text;
        }
        resolve({ status: res.statusCode ?? 0, json });
      });
    });
    req.on('error', reject);
    req.end(body);
  });
}

const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p))));

describe('JSON bodies that are not UTF-8', () => {
  it.each([
    ['C3 28 (a lead byte, then no continuation)', [0xc3, 0x28]],
    ['FF (never in UTF-8)', [0xff]],
    ['C0 AF (an overlong "/")', [0xc0, 0xaf]],
    ['ED A0 80 (an encoded surrogate)', [0xed, 0xa0, 0x80]],
    ['E2 82 (cut short)', [0xe2, 0x82]],
  ])('%s in a string is a 400 saying so, not U+FFFD', async (_what, bad) => {
    const answer = await raw('POST', '/echo', bytes('{"reason":"caf', bad, '"}'));
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: 'INVALID_JSON', message: expect.stringMatching(/not valid UTF-8/) });
    expect(seen).toEqual([]);
  });

  it('keeps valid UTF-8 exactly (a BOM-less body of every plane)', async () => {
    const answer = await raw('POST', '/echo', bytes('{"reason":"café 山田 😀"}'));
    expect(answer).toEqual({ status: 200, json: { body: { reason: 'café 山田 😀' } } });
  });

  it('a charset other than UTF-8 is 415', async () => {
    const answer = await raw('POST', '/echo', Buffer.from('{"a":"b"}', 'utf16le'), 'application/json; charset=utf-16le');
    expect(answer.status).toBe(415);
    expect(answer.json).toMatchObject({ error: 'UNSUPPORTED_MEDIA_TYPE' });
  });
});

describe('query strings and paths that are not percent-encoded UTF-8', () => {
  it.each(['q=%FF', 'q=%C3%28', 'q=%E0%A4%A', 'q=ok&q2=%ED%A0%80', 'q=%'])('?%s is a 400 naming the parameter', async (query) => {
    const answer = await raw('GET', `/things/x?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: 'BAD_REQUEST', param: query.split('&').pop()?.split('=')[0], message: expect.stringMatching(/not valid percent-encoded UTF-8/) });
  });

  it('a parameter name that does not decode is a 400 too', async () => {
    const answer = await raw('GET', '/things/x?%FF=1');
    expect(answer.status).toBe(400);
    expect(answer.json).toMatchObject({ error: 'BAD_REQUEST' });
  });

  it.each(['/things/%FF', '/things/%C3%28', '/nowhere/%E0%A4%A'])('the path %s is a 400', async (path) => {
    const answer = await raw('GET', path);
    expect(answer.status).toBe(400);
    expect(answer.json).toEqual({ error: 'BAD_REQUEST', message: expect.stringMatching(/not valid percent-encoded UTF-8/) });
  });

  it('valid encodings pass as they are', async () => {
    const answer = await raw('GET', `/things/${encodeURIComponent('ü 😀')}?q=${encodeURIComponent('café+x')}&plus=a+b`);
    expect(answer).toEqual({ status: 200, json: { id: 'ü 😀', query: { q: 'café+x', plus: 'a b' } } });
  });
});
