// What a read model or state store costs in Redis: bytes by key family, for bytes per event.

/**
 * A key's family: its `:`-separated segments with every one that holds a digit (an id, a
 * timestamp, a partition) replaced by `*`, so `rb.ledger:shipment:RB0000001:events` and every
 * other shipment's event list are one family, `rb.ledger:shipment:*:events`.
 */
export function keyFamily(key) {
  return key
    .split(':')
    .map((segment, i) => (i > 0 && /\d/.test(segment) ? '*' : segment))
    .join(':');
}

/** Redis's own `used_memory` (bytes): the whole server, allocator overhead included. */
export async function usedMemory(redis) {
  const info = await redis.info('memory');
  return Number(/^used_memory:(\d+)/m.exec(info)?.[1] ?? NaN);
}

/**
 * Every key matching `match` with its `MEMORY USAGE` (exact: SAMPLES 0), summed per family:
 * `{ keys, bytes, families: { family: { keys, bytes } } }`, largest family first.
 */
export async function memoryByFamily(redis, match = '*') {
  const families = new Map();
  let keys = 0;
  let bytes = 0;
  let cursor = '0';
  do {
    const [next, batch] = await redis.scan(cursor, 'MATCH', match, 'COUNT', 1000);
    cursor = next;
    if (!batch.length) continue;
    const pipeline = redis.pipeline();
    for (const key of batch) pipeline.memory('USAGE', key, 'SAMPLES', 0);
    const sizes = await pipeline.exec();
    batch.forEach((key, i) => {
      const size = Number(sizes[i][1] ?? 0);
      const family = keyFamily(key);
      const entry = families.get(family) ?? { keys: 0, bytes: 0 };
      entry.keys += 1;
      entry.bytes += size;
      families.set(family, entry);
      keys += 1;
      bytes += size;
    });
  } while (cursor !== '0');
  return { keys, bytes, families: Object.fromEntries([...families].sort((a, b) => b[1].bytes - a[1].bytes)) };
}

/** `memoryByFamily` with each family's bytes also per unit of work (`per`: events, transactions). */
export function perUnit(memory, units, unitName) {
  const round = (x) => Math.round(x * 10) / 10;
  return {
    [`bytesPer${unitName}`]: units ? round(memory.bytes / units) : null,
    keys: memory.keys,
    bytes: memory.bytes,
    families: Object.fromEntries(Object.entries(memory.families).map(([family, f]) => [family, { ...f, [`bytesPer${unitName}`]: units ? round(f.bytes / units) : null }])),
  };
}
