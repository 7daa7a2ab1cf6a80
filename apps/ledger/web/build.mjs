// Bundles the ledger's two pages: the admin page (web/main.tsx) into apps/ledger/dist/web and the
// operations view (web/ops/main.tsx) into apps/ledger/dist/web-ops, each index.html plus
// content-hashed assets under assets/, from the one index.html template. Two bundles, so the
// pages change independently. No downloads: esbuild and preact come from node_modules.
// Run by `nx run ledger:build` after the type check (tsc -p apps/ledger/web/tsconfig.json).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const PAGES = [
  { what: 'admin page', title: 'Waybill ledger', noscript: 'The Waybill ledger page', entry: join(here, 'main.tsx'), outDir: join(here, '..', 'dist', 'web'), entryNames: '[name]-[hash]' },
  { what: 'operations page', title: 'Waybill operations', noscript: 'The Waybill operations page', entry: join(here, 'ops', 'main.tsx'), outDir: join(here, '..', 'dist', 'web-ops'), entryNames: 'ops-[hash]' },
];
const template = readFileSync(join(here, 'index.html'), 'utf8');

for (const page of PAGES) {
  const assetsDir = join(page.outDir, 'assets');
  rmSync(page.outDir, { recursive: true, force: true });
  mkdirSync(assetsDir, { recursive: true });
  const result = await build({
    entryPoints: [page.entry],
    bundle: true,
    outdir: assetsDir,
    entryNames: page.entryNames,
    format: 'esm',
    platform: 'browser',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    jsx: 'automatic',
    jsxImportSource: 'preact',
    minify: true,
    sourcemap: true,
    metafile: true,
    legalComments: 'none',
    logLevel: 'warning',
  });
  const js = Object.entries(result.metafile.outputs).find(([file, o]) => o.entryPoint && file.endsWith('.js'))?.[0];
  const css = Object.keys(result.metafile.outputs).find((file) => file.endsWith('.css'));
  if (!js || !css) throw new Error(`esbuild produced no script or no stylesheet for the ${page.what}`);
  const html = template
    .replace('%TITLE%', page.title)
    .replace('%NOSCRIPT%', page.noscript)
    .replace('%SCRIPT%', `assets/${basename(js)}`)
    .replace('%STYLES%', `assets/${basename(css)}`);
  writeFileSync(join(page.outDir, 'index.html'), html);
  process.stdout.write(`${page.what}: ${join(page.outDir, 'index.html')} (${basename(js)}, ${basename(css)})\n`);
}
