// The Emmett-on-PostgreSQL peer: the "create then five transitions" workload as appends to an
// Emmett event store (@event-driven-io/emmett-postgresql), every append with the expected stream
// version. Run by bench/shipments.mjs as a child process (fork, IPC); it can also run alone:
//
//   node bench/peers/emmett/peer.mjs '{"connectionString":"postgresql://…","shipments":500}'
//
// Modes (each measured separately):
// - append: the caller tracks each shipment's version (as a client of Waybill's reducer does
//   with the versions outcomes report) and appends one event with expectedStreamVersion = that
//   version (0n for the create: the stream must not exist yet).
// - readThenAppend: what an Emmett command handler does per command: aggregateStream (read the
//   stream, fold it to a state carrying its version), then append with that expected version.
import { performance } from 'node:perf_hooks';
import { getPostgreSQLEventStore } from '@event-driven-io/emmett-postgresql';
import { isExpectedVersionConflictError } from '@event-driven-io/emmett';
import pg from 'pg';
import { COMMANDS_PER_SHIPMENT, shipmentCommand, shipmentEvent, shipmentFacts } from '../../lib/workload.mjs';

function parseOptions() {
  const given = process.argv[2] ? JSON.parse(process.argv[2]) : {};
  return {
    connectionString: given.connectionString ?? process.env.EMMETT_PG_URL,
    shipments: given.shipments ?? 1000,
    warmupShipments: given.warmupShipments ?? 50,
    concurrency: given.concurrency ?? 16,
    modes: given.modes ?? ['append', 'readThenAppend'],
    maxSeconds: given.maxSeconds ?? 60,
  };
}

// A minimal fold for aggregateStream: the state the decide step of a handler would need.
const evolve = (state, event) => ({ status: event.type, events: state.events + 1 });
const initialState = () => ({ status: 'None', events: 0 });

/** Runs `shipments` shipments of the workload with `concurrency` in flight; returns samples. */
async function runWorkload(store, { runTag, shipments, concurrency, mode, deadline }) {
  const latencies = [];
  const completions = [];
  let conflicts = 0;
  let next = 0;
  let stoppedEarly = false;
  const worker = async () => {
    for (;;) {
      if (next >= shipments) return;
      if (performance.now() > deadline) {
        stoppedEarly = true;
        return;
      }
      const facts = shipmentFacts(runTag, next++);
      const stream = `shipment-${facts.shipmentId}`;
      let version = 0n;
      for (let step = 0; step < COMMANDS_PER_SHIPMENT; step++) {
        const command = shipmentCommand(facts, step);
        const event = shipmentEvent(facts, step, command);
        const started = performance.now();
        let appended = false;
        try {
          if (mode === 'readThenAppend') {
            const { currentStreamVersion } = await store.aggregateStream(stream, { evolve, initialState });
            version = currentStreamVersion;
          }
          const result = await store.appendToStream(stream, [event], { expectedStreamVersion: version });
          version = result.nextExpectedStreamVersion;
          appended = true;
        } catch (err) {
          // Never expected (each stream has one writer): counted and reported, not a completed append.
          if (isExpectedVersionConflictError(err)) conflicts++;
          else throw err;
        }
        if (!appended) break;
        const ended = performance.now();
        latencies.push(ended - started);
        completions.push(ended);
      }
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  return { started, latencies, completions, conflicts, stoppedEarly };
}

async function main() {
  const options = parseOptions();
  if (!options.connectionString) throw new Error('no connectionString (argv JSON) or EMMETT_PG_URL');
  // One pooled connection per concurrent stream, so the pool is not what limits the peer.
  const pool = new pg.Pool({ connectionString: options.connectionString, max: options.concurrency + 2 });
  const store = getPostgreSQLEventStore(options.connectionString, {
    schema: { autoMigration: 'CreateOrUpdate' },
    connectionOptions: { pooled: true, pool },
  });
  await store.schema.migrate();
  const results = {};
  try {
    for (const mode of options.modes) {
      const tag = `${mode}-${process.pid}`;
      await runWorkload(store, { runTag: `warm-${tag}`, shipments: options.warmupShipments, concurrency: options.concurrency, mode, deadline: Infinity });
      const deadline = performance.now() + options.maxSeconds * 1000;
      const run = await runWorkload(store, { runTag: tag, shipments: options.shipments, concurrency: options.concurrency, mode, deadline });
      results[mode] = run;
    }
  } finally {
    await store.close().catch(() => undefined);
    await pool.end().catch(() => undefined);
  }
  return results;
}

main().then(
  (results) => {
    // Raw samples go back to the harness, which computes every figure the same way for every peer.
    const payload = { ok: true, results };
    if (process.send) process.send(payload, () => process.exit(0));
    else {
      for (const [mode, r] of Object.entries(results)) {
        const wall = (r.completions.at(-1) - r.started) / 1000;
        const sorted = r.latencies.sort((a, b) => a - b);
        process.stdout.write(
          `${mode}: ${r.completions.length} appends in ${wall.toFixed(2)} s = ${(r.completions.length / wall).toFixed(0)}/s, p50 ${sorted[Math.floor(sorted.length / 2)].toFixed(2)} ms, p99 ${sorted[Math.floor(sorted.length * 0.99)].toFixed(2)} ms, conflicts ${r.conflicts}\n`,
        );
      }
      process.exit(0);
    }
  },
  (err) => {
    if (process.send) process.send({ ok: false, error: String(err?.stack ?? err) }, () => process.exit(1));
    else {
      process.stderr.write(`${err?.stack ?? err}\n`);
      process.exit(1);
    }
  },
);
