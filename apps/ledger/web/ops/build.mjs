// Bundles the operations view (apps/ledger/web/ops/main.tsx) into apps/ledger/dist/web-ops:
// index.html plus content-hashed assets, as web/build.mjs does for the admin page. Its own
// bundle, so the two pages change independently. Run by `nx run ledger:build`.
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', '..', 'dist', 'web-ops');
const assetsDir = join(outDir, 'assets');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(assetsDir, { recursive: true });

const result = await build({
  entryPoints: [join(here, 'main.tsx')],
  bundle: true,
  outdir: assetsDir,
  entryNames: 'ops-[hash]',
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
if (!js || !css) throw new Error('esbuild produced no script or no stylesheet');
const html = readFileSync(join(here, 'index.html'), 'utf8')
  .replace('%SCRIPT%', `assets/${basename(js)}`)
  .replace('%STYLES%', `assets/${basename(css)}`);
writeFileSync(join(outDir, 'index.html'), html);
process.stdout.write(`operations page: ${join(outDir, 'index.html')} (${basename(js)}, ${basename(css)})\n`);
