// Bundles the UXP panel into plugin/dist/: index.js (esbuild; `premierepro` and `uxp` stay external, UXP provides
// them through its global `require`), plus manifest.json, index.html, css/ and icons/. Run by scripts/build.mjs.
import { build } from 'esbuild';
import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const here = (p) => fileURLToPath(new URL(p, import.meta.url));
const dist = here('./dist/');

rmSync(dist, { recursive: true, force: true });
mkdirSync(dist, { recursive: true });
await build({
  entryPoints: [here('./main.ts')],
  outfile: here('./dist/index.js'),
  bundle: true,
  platform: 'browser',
  format: 'iife',
  target: 'es2020',
  external: ['premierepro', 'uxp'],
  minify: true,
  sourcemap: 'linked',
  logLevel: 'warning',
});
for (const entry of ['manifest.json', 'index.html', 'css', 'icons']) cpSync(here(`./${entry}`), here(`./dist/${entry}`), { recursive: true });
