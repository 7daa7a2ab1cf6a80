import { idempotentCommandId } from './idempotency';

describe('idempotentCommandId', () => {
  const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-8[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

  it('gives a retry the same command id, so a store that forgot the key cannot cause a second command', () => {
    expect(idempotentCommandId('ana', 'k-1', 'SH-1')).toBe(idempotentCommandId('ana', 'k-1', 'SH-1'));
  });

  it('differs by principal, key and shipment, and is shaped as a version 8 UUID', () => {
    const ids = [idempotentCommandId('ana', 'k-1', 'SH-1'), idempotentCommandId('bob', 'k-1', 'SH-1'), idempotentCommandId('ana', 'k-2', 'SH-1'), idempotentCommandId('ana', 'k-1', 'SH-2')];
    expect(new Set(ids).size).toBe(4);
    for (const id of ids) expect(id).toMatch(UUID);
  });

  it('does not let a separator inside one part collide with another split of the same text', () => {
    expect(idempotentCommandId('a:b', 'c', 'S')).not.toBe(idempotentCommandId('a', 'b:c', 'S'));
  });
});
