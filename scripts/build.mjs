// Bundles the daemon + CLI into dist/longshot.cjs and the UXP panel into plugin/dist/.
// Packages stay external: native addons (onnxruntime-node, better-sqlite3) and the ffmpeg binary
// must be loaded from node_modules at run time.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

await build({
  entryPoints: ['daemon/cli/main.ts'],
  outfile: 'dist/longshot.cjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'cjs',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});

// The Content Credentials worker: an ES module, since c2pa-wasm is one and a worker thread loads it natively.
await build({
  entryPoints: ['daemon/media/c2pa-worker.ts'],
  outfile: 'dist/c2pa-worker.mjs',
  bundle: true,
  platform: 'node',
  target: 'node20',
  format: 'esm',
  packages: 'external',
  sourcemap: true,
  logLevel: 'warning',
});

if (existsSync('plugin/build.mjs')) {
  await import(new URL('../plugin/build.mjs', import.meta.url).href);
}
