import { testEnvironment } from '@waybill/devstack';
import { IdempotencyStore } from './idempotency';

// Against a real Redis: a claim whose command could not be produced is given back, and only that
// claim (a newer one for the same key stays).
describe('IdempotencyStore.release', () => {
  const env = testEnvironment();
  afterAll(() => env.cleanup());

  it('frees the key for the claim that failed, and leaves another claim alone', async () => {
    const store = new IdempotencyStore(env.redis(), env.uniqueName('idem'), 60);
    const record = { commandId: 'c-1', shipmentId: 'S-1', fingerprint: 'f' };
    expect(await store.claim('ana', 'k', record)).toEqual({ kind: 'new' });
    expect((await store.claim('ana', 'k', { ...record, commandId: 'c-2' })).kind).toBe('replay');

    await store.release('ana', 'k', 'c-other');
    expect((await store.claim('ana', 'k', { ...record, commandId: 'c-3' })).kind).toBe('replay');

    await store.release('ana', 'k', 'c-1');
    expect(await store.claim('ana', 'k', { ...record, commandId: 'c-4' })).toEqual({ kind: 'new' });
    await store.release('ana', 'k', 'c-1');
    expect(await store.claim('ana', 'k', { ...record, commandId: 'c-5' })).toMatchObject({ kind: 'replay', record: { commandId: 'c-4' } });
  });
});
