// Bundles the daemon + CLI into dist/longshot.cjs (with its worker threads beside it) and the UXP panel into plugin/dist/.
// Packages stay external: native addons (onnxruntime-node, better-sqlite3) and the ffmpeg binary
// must be loaded from node_modules at run time.
import { build } from 'esbuild';
import { existsSync } from 'node:fs';

/** One bundle for Node of `entry` at `outfile`, its packages loaded from node_modules. */
const bundleForNode = (entry, outfile, format) =>
  build({ entryPoints: [entry], outfile, format, bundle: true, platform: 'node', target: 'node20', packages: 'external', sourcemap: true, logLevel: 'warning' });

await bundleForNode('daemon/cli/main.ts', 'dist/longshot.cjs', 'cjs');
// The engine's worker thread (daemon/engine/engine-thread.ts starts it): model loading and generation off the daemon's thread.
await bundleForNode('daemon/engine/engine-worker.ts', 'dist/engine-worker.cjs', 'cjs');
// The Content Credentials worker: an ES module, since c2pa-wasm is one and a worker thread loads it natively.
await bundleForNode('daemon/media/c2pa-worker.ts', 'dist/c2pa-worker.mjs', 'esm');
// Per-frame flows of a clip for motion-latent training (models/footage/flows.py runs it): the engine's own estimator.
await bundleForNode('scripts/clip-flows.ts', 'dist/clip-flows.cjs', 'cjs');

if (existsSync('plugin/build.mjs')) {
  await import(new URL('../plugin/build.mjs', import.meta.url).href);
}
