import type { Request } from 'express';
import { BadParam, instant, limit, oneOf, pathIds, text } from './params';

const req = (query: Record<string, unknown>, params: Record<string, string> = {}) => ({ query, params }) as unknown as Request;
const thrown = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (err) {
    return err;
  }
  return undefined;
};

describe('query parameters: control characters and lone surrogates', () => {
  it.each(['\u0000', '\u0007', '\t', '\n', '\r', '\u001b', '\u007f', '\u0085', '\u009f', '\ud800', '\udc00x'])('q, initiatedBy and cursor holding %j are a 400 naming the parameter', (c) => {
    for (const name of ['q', 'initiatedBy', 'cursor']) {
      const err = thrown(() => text(req({ [name]: `ab${c}` }), name));
      expect(err).toBeInstanceOf(BadParam);
      expect(err).toMatchObject({ param: name, message: expect.stringMatching(/control characters|lone surrogate/) });
    }
  });

  it('a NUL alone (`q=%00`) is refused, not searched for', () => {
    expect(thrown(() => text(req({ q: '\u0000' }), 'q'))).toMatchObject({ param: 'q' });
  });

  it('the other parameter kinds say which one is bad too', () => {
    expect(thrown(() => oneOf(req({ status: 'Created\u0000' }), 'status', ['Created']))).toMatchObject({ param: 'status' });
    expect(thrown(() => instant(req({ asOf: '2025-03-01T10:00:00Z\u0000' }), 'asOf'))).toMatchObject({ param: 'asOf' });
    expect(thrown(() => limit(req({ limit: '5\u0000' })))).toMatchObject({ param: 'limit' });
  });

  it('keeps Unicode exactly', () => {
    expect(text(req({ q: 'ünï-😀 \u202e' }), 'q')).toBe('ünï-😀 \u202e');
  });
});

describe('path ids: control characters and lone surrogates', () => {
  it.each(['id', 'eventId', 'traceId'])('%s holding a control character is a 400 naming it', (name) => {
    expect(thrown(() => pathIds(req({}, { [name]: 'SHP\u00001' })))).toMatchObject({ param: name, message: expect.stringMatching(/control characters/) });
    expect(thrown(() => pathIds(req({}, { [name]: 'SHP\ud8001' })))).toMatchObject({ param: name, message: expect.stringMatching(/lone surrogate/) });
  });

  it('well-formed and Unicode ids pass (an unknown one is a 404 later)', () => {
    expect(() => pathIds(req({}, { id: 'SHP-1', traceId: 'tr ace ü 😀' }))).not.toThrow();
  });
});
