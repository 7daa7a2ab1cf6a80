// The Emmett-on-PostgreSQL peer of bench/ledger.mjs's asOf figure: one stream of N events, and
// "state as of an instant" the way an Emmett application gets it: aggregateStream (read the whole
// stream, fold it) with an evolve that ignores events newer than the instant. Emmett has no
// snapshots and no time index, so every asOf reads the stream. Loaded from the peer's own
// node_modules (bench/peers/emmett, not a workspace member).
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';

export async function measureEmmettAsOf({ peerDir, connectionString, events, requests, warmup = 5, instants }) {
  const require = createRequire(join(peerDir, 'package.json'));
  const { getPostgreSQLEventStore } = require('@event-driven-io/emmett-postgresql');
  const pg = require('pg');
  const pool = new pg.Pool({ connectionString, max: 4 });
  const store = getPostgreSQLEventStore(connectionString, { schema: { autoMigration: 'CreateOrUpdate' }, connectionOptions: { pooled: true, pool } });
  await store.schema.migrate();
  const stream = `shipment-asof-${process.pid}`;
  try {
    // Same events as Waybill's shipment (data + envelope as metadata), appended in chunks.
    let version = 0n;
    const appendStarted = performance.now();
    for (let i = 0; i < events.length; i += 500) {
      const chunk = events.slice(i, i + 500).map((r) => ({ type: r.type, data: { ...r.value.data, at: r.value.timestamp }, metadata: { eventId: r.value.eventId, version: r.value.version } }));
      const result = await store.appendToStream(stream, chunk, { expectedStreamVersion: version });
      version = result.nextExpectedStreamVersion;
    }
    const appendSeconds = (performance.now() - appendStarted) / 1000;
    const asOf = async (instant) => {
      const evolve = (state, event) => {
        if (event.data.at > instant) return state;
        const picked = event.type === 'ItemPicked' ? state.picked + event.data.quantity : state.picked;
        return { status: event.type, version: state.version + 1, picked };
      };
      const { state } = await store.aggregateStream(stream, { evolve, initialState: () => ({ status: 'None', version: 0, picked: 0 }) });
      return state;
    };
    for (let i = 0; i < warmup; i += 1) await asOf(instants(i));
    const latencies = [];
    let check;
    for (let i = 0; i < requests; i += 1) {
      const instant = instants(i);
      const began = performance.now();
      const state = await asOf(instant);
      latencies.push(performance.now() - began);
      check ??= { instant, version: state.version };
    }
    return { latencies, appendSeconds, events: events.length, check };
  } finally {
    await store.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
}
