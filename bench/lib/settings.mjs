// The command line and environment of a bench: one table of settings per bench, each with its
// flag, its BENCH_* variable, its default and its --quick value.
import { parseArgs } from 'node:util';

/** Flags beat variables beat defaults (the --quick ones under --quick); names come out camelCase, `skip` as a Set. */
export function readSettings(settings, argv) {
  const { values } = parseArgs({
    args: argv,
    options: Object.fromEntries(Object.entries(settings).map(([name, s]) => [name, { type: s.type === 'boolean' ? 'boolean' : 'string' }])),
    strict: true,
  });
  const quick = values.quick ?? (process.env.BENCH_QUICK ? process.env.BENCH_QUICK !== '0' : false);
  const out = {};
  for (const [name, s] of Object.entries(settings)) {
    const raw = values[name] ?? (s.env ? process.env[s.env] : undefined);
    let value;
    if (raw === undefined || raw === '') value = quick && s.quick !== undefined ? s.quick : s.default;
    else if (s.type === 'number') {
      value = Number(raw);
      if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} must be a non-negative number, got ${raw}`);
    } else if (s.type === 'boolean') value = raw === true || (raw !== false && raw !== '0' && raw !== 'false');
    else value = raw;
    out[name.replace(/-([a-z])/g, (_, c) => c.toUpperCase())] = value;
  }
  out.quick = quick;
  out.skip = new Set(String(out.skip ?? '').split(',').map((s) => s.trim()).filter(Boolean));
  return out;
}

/** The --help text of `script` from its settings table. */
export function usage(script, settings) {
  const lines = Object.entries(settings).map(([name, s]) => `  --${name.padEnd(26)} ${s.env ? `(${s.env}) ` : ''}${s.help}${s.type !== 'boolean' && s.default !== '' ? ` [${s.default}]` : ''}`);
  return `usage: node ${script} [options]\n${lines.join('\n')}\n`;
}
