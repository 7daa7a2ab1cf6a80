import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { key, pipeline, root, type Pipeline } from '../support/pipeline';
import { bookFirstCharge, InjectionReport, type App } from './support-security';

// Every app against its own `GET /openapi.json`, with schemathesis (PyPI, pinned in
// test/faults/requirements.txt, installed by `npm test` into .cache/python): generated valid and
// invalid requests for every operation (examples, coverage and fuzzing phases) and stateful
// sequences along the documents' links (a created shipment gets commands and its answer polled,
// a payment's readToken is read back), on a whole Waybill on the shared test broker. Every answer
// must be no 5xx and match its own document: status code, content type and body schema. Seeded
// and bounded: OPENAPI_SEED and OPENAPI_EXAMPLES override.

const SEED = Number(process.env.OPENAPI_SEED ?? 20_251_201);
const EXAMPLES = Number(process.env.OPENAPI_EXAMPLES ?? 50);
const SCHEMATHESIS = join(root, '.cache', 'python', 'bin', 'schemathesis');
const CHECKS = ['not_a_server_error', 'status_code_conformance', 'content_type_conformance', 'response_schema_conformance'];
const ACCOUNT = 'ACC-42';

/** Each app, the role whose key may call every one of its operations, and what it must not walk into. */
const TARGETS: Array<{ app: string; role: string; exclude?: string[] }> = [
  { app: 'shipment-handler', role: 'supervisor' },
  { app: 'accounting-handler', role: 'finance' },
  { app: 'account-reducer', role: 'finance' },
  // Server-sent events never end: a request to them could only time out.
  { app: 'ledger', role: 'supervisor', exclude: ['/alerts/stream'] },
  { app: 'shipment-reducer', role: 'viewer' },
  { app: 'accounting-listener', role: 'viewer' },
  { app: 'accounting-command-listener', role: 'viewer' },
];

interface Run {
  code: number | null;
  output: string;
  seconds: number;
}

function schemathesis(app: App, role: string, exclude: string[] = [], reportDir: string): Promise<Run> {
  const args = [
    'run',
    `${app.url}/openapi.json`,
    '--header',
    `X-API-Key: ${key(role)}`,
    '--checks',
    CHECKS.join(','),
    '--phases',
    'examples,coverage,fuzzing,stateful',
    '--max-examples',
    String(EXAMPLES),
    '--seed',
    String(SEED),
    '--generation-deterministic',
    // Only the key given here: no made-up X-API-Key or bearer token beside it.
    '--generation-with-security-parameters',
    'false',
    '--workers',
    '1',
    '--request-timeout',
    '20',
    '--suppress-health-check',
    'all',
    '--no-color',
    '--report',
    'junit',
    '--report-junit-path',
    join(reportDir, 'junit.xml'),
    ...exclude.flatMap((path) => ['--exclude-path', path]),
  ];
  const began = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(SCHEMATHESIS, args, { cwd: reportDir, env: { ...process.env, SCHEMATHESIS_TELEMETRY: 'false', NO_COLOR: '1', COLUMNS: '160' } });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, output, seconds: (Date.now() - began) / 1000 }));
  });
}

/** schemathesis' closing lines, short: test cases, links followed, failures and warnings. */
function summaryOf(output: string): string {
  const lines = output.split('\n').map((l) => l.trim());
  const cases = lines.find((l) => /^\d+ generated/.test(l));
  const links = lines.filter((l) => l.startsWith('API Links:'));
  const flagged = lines.filter((l) => /^(❌|⚠️) /.test(l));
  return [cases ? `test cases: ${cases}` : '', ...links, ...flagged].filter(Boolean).join('; ');
}

describe('every app answers as its own OpenAPI document says (schemathesis)', () => {
  let p: Pipeline;
  const apps: Record<string, App> = {};
  const report = new InjectionReport(`openapi-conformance: schemathesis against every app's GET /openapi.json (seed ${SEED}, at most ${EXAMPLES} examples per operation and phase)`);
  const logs = join(root, 'test-output', 'schemathesis');

  beforeAll(async () => {
    if (!existsSync(SCHEMATHESIS)) {
      throw new Error(`${SCHEMATHESIS} is missing: npm test installs it; or run python3 -m venv .cache/python && .cache/python/bin/pip install -r test/faults/requirements.txt`);
    }
    p = await pipeline('openapi');
    // An account with one charge before its command listener starts (it restores its state from
    // accounting.transactions), so the documents' example account exists and payments are booked.
    await bookFirstCharge(p, ACCOUNT, 'OA-1', 'oa');

    // Generous rate limits: schemathesis sends thousands of requests a minute with one key.
    const unlimited = { RATE_LIMIT_PER_MINUTE: '1000000', RATE_LIMIT_ANONYMOUS_PER_MINUTE: '1000000' };
    const consumers = ['shipment-reducer', 'accounting-listener', 'accounting-command-listener', 'account-reducer'] as const;
    (await Promise.all(consumers.map((app) => p.start(app, unlimited)))).forEach((running, i) => (apps[consumers[i]] = running));
    [apps['shipment-handler'], apps['accounting-handler']] = await Promise.all([
      p.start('shipment-handler', { ...unlimited, OUTCOME_WAIT_MS: '3000' }),
      p.start('accounting-handler', { ...unlimited, OUTCOME_WAIT_MS: '3000' }),
    ]);
    apps.ledger = await p.start('ledger', { ...unlimited, SHIPMENT_HANDLER_URL: apps['shipment-handler'].url, WAIT_FOR_TIMEOUT_MS: '1000' });
  }, 180_000);

  afterAll(async () => {
    report.print();
    await p?.close();
  });

  it.each(TARGETS)('$app: no server error, every answer as documented (status, content type, body), stateful links included', async ({ app, role, exclude }) => {
    const dir = join(logs, app);
    mkdirSync(dir, { recursive: true });
    const run = await schemathesis(apps[app], role, exclude, dir);
    writeFileSync(join(dir, 'output.txt'), run.output);
    const summary = summaryOf(run.output);
    report.add(app, `schemathesis ${CHECKS.length} checks, key of ${role}${exclude?.length ? `, without ${exclude.join(', ')}` : ''} (${run.seconds.toFixed(0)} s)`, summary || '(no summary)', NaN, run.code === 0 ? 'pass' : `FAIL (exit ${run.code})`);
    process.stdout.write(`schemathesis ${app}: exit ${run.code} in ${run.seconds.toFixed(1)} s — ${summary}\n`);
    if (run.code !== 0) throw new Error(`schemathesis against ${app} exited ${run.code} (full output in ${join(dir, 'output.txt')}):\n${run.output.slice(-12_000)}`);
  }, 300_000);

  // An answer can match its document while a consumer behind it dies (a command that decides but
  // cannot be written stops the reducer, and every later command is only ever 202): every app must
  // still be up and ready after all of it.
  it('leaves every app running and ready', async () => {
    const down = Object.entries(apps).filter(([, app]) => app.service.hasExited).map(([name]) => name);
    expect(down).toEqual([]);
    const unready = [];
    for (const [name, app] of Object.entries(apps)) if ((await fetch(`${app.url}/readyz`)).status !== 200) unready.push(name);
    expect(unready).toEqual([]);
    report.add('every app', 'all of the above', 'still running, GET /readyz 200', Object.keys(apps).length);
  });
});
