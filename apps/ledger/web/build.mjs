// Bundles the admin page (apps/ledger/web/main.tsx) into apps/ledger/dist/web: index.html plus
// content-hashed assets under assets/. No downloads: esbuild and preact come from node_modules.
// Run by `nx run ledger:build` after the type check (tsc -p apps/ledger/web/tsconfig.json).
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const here = dirname(fileURLToPath(import.meta.url));
const outDir = join(here, '..', 'dist', 'web');
const assetsDir = join(outDir, 'assets');
rmSync(outDir, { recursive: true, force: true });
mkdirSync(assetsDir, { recursive: true });

const result = await build({
  entryPoints: [join(here, 'main.tsx')],
  bundle: true,
  outdir: assetsDir,
  entryNames: '[name]-[hash]',
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

const outputs = Object.entries(result.metafile.outputs).filter(([, o]) => o.entryPoint);
const js = outputs.find(([file]) => file.endsWith('.js'))?.[0];
const css = Object.keys(result.metafile.outputs).find((file) => file.endsWith('.css'));
if (!js || !css) throw new Error('esbuild produced no script or no stylesheet');

const html = readFileSync(join(here, 'index.html'), 'utf8')
  .replace('%SCRIPT%', `assets/${basename(js)}`)
  .replace('%STYLES%', `assets/${basename(css)}`);
writeFileSync(join(outDir, 'index.html'), html);
process.stdout.write(`admin page: ${join(outDir, 'index.html')} (${basename(js)}, ${basename(css)})\n`);
