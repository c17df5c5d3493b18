#!/usr/bin/env node
// Where the first clip's time goes (issue 28 item 8): runs the built CLI (`npm run build`) twice on a fresh data
// folder, `longshot generate` of a 0.5 s B-roll clip, and splits each run's wall time into node and CLI start,
// package and ffmpeg checks, ORT session creation (each graph), generation and encoding.
//   node scripts/measure-first-clip.cjs [--models-dir DIR] [--default-model NAME] [--threads N]
// The first run optimises the graphs and writes <data dir>/graph-cache; the second reads them from there.
// Loaded with --require into the CLI's process (LONGSHOT_MEASURE_OUT set), the same file records the timestamps.
'use strict';
const fs = require('node:fs');
const path = require('node:path');

if (process.env.LONGSHOT_MEASURE_OUT) record(process.env.LONGSHOT_MEASURE_OUT);
else main();

/** In the CLI's process: times of module loads, ORT session creations and ffmpeg runs, written at exit. */
function record(outFile) {
  const Module = require('node:module');
  const childProcess = require('node:child_process');
  const events = { requires: [], sessions: [], ffmpeg: [] };
  const load = Module._load;
  let depth = 0;
  Module._load = function (request) {
    depth++;
    try {
      const loaded = load.apply(this, arguments);
      if (request === 'onnxruntime-node' && !loaded.InferenceSession.__measured) {
        const create = loaded.InferenceSession.create;
        loaded.InferenceSession.create = async function (source, options) {
          const start = performance.now();
          try {
            return await create.call(this, source, options);
          } finally {
            events.sessions.push({ graph: path.basename(String(source)), start, end: performance.now() });
          }
        };
        loaded.InferenceSession.__measured = true;
      }
      return loaded;
    } finally {
      depth--;
      if (depth === 0) events.requires.push(performance.now());
    }
  };
  const spawn = childProcess.spawn;
  childProcess.spawn = function (command, args) {
    const child = spawn.apply(this, arguments);
    const run = { args: (args || []).join(' '), start: performance.now(), end: null };
    events.ffmpeg.push(run);
    child.once('exit', () => (run.end = performance.now()));
    return child;
  };
  const write = process.stdout.write;
  process.stdout.write = function () {
    events.written = performance.now();
    return write.apply(this, arguments);
  };
  process.on('exit', () => fs.writeFileSync(outFile, JSON.stringify({ ...events, exit: performance.now() })));
}

/** A graph as the report names it: a cached optimised copy by its source graph's sha256. */
function graphName(file) {
  const cached = /^([0-9a-f]{12})[0-9a-f]{52}-/.exec(file);
  return cached ? `optimised copy of ${cached[1]}… (cache)` : file;
}

/** The measuring side: two runs of the CLI, each split into its steps. */
function main() {
  const { spawnSync } = require('node:child_process');
  const os = require('node:os');
  const root = path.join(__dirname, '..');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'longshot-first-clip-'));
  const flags = process.argv.slice(2);
  try {
    for (const run of ['first run (graphs optimised, cache written)', 'second run (optimised graphs from the cache)']) {
      const out = path.join(dir, 'events.json');
      const clip = path.join(dir, 'clip.mp4');
      fs.rmSync(clip, { force: true });
      const started = performance.now();
      const cli = spawnSync(process.execPath, ['--require', __filename, path.join(root, 'bin', 'longshot.cjs'), 'generate', 'a red circle moves left', '--seconds', '0.5', '--fps', '24', '--seed', '1', '-o', clip, '--data-dir', path.join(dir, 'data'), '--json', ...flags], {
        env: { ...process.env, LONGSHOT_MEASURE_OUT: out },
        encoding: 'utf8',
      });
      const wall = performance.now() - started;
      if (cli.status !== 0) throw new Error(`longshot generate failed (${cli.status}): ${cli.stderr}`);
      const e = JSON.parse(fs.readFileSync(out, 'utf8'));
      const done = JSON.parse(cli.stdout.trim().split('\n').at(-1));
      const sessions = e.sessions.sort((a, b) => a.start - b.start);
      const firstSession = sessions[0].start;
      const lastSession = Math.max(...sessions.map((s) => s.end));
      const encode = e.ffmpeg.find((f) => f.args.includes('rawvideo'));
      const cliStart = Math.max(...e.requires.filter((t) => t < firstSession));
      const ms = (x) => `${Math.round(x)} ms`.padStart(8);
      const rows = [
        ['wall (spawn to exit)', wall],
        ['node + CLI start (modules loaded)', cliStart],
        ['package hashes, ffmpeg probe', firstSession - cliStart],
        ['ORT sessions (U-ViT probe, warm-up)', lastSession - firstSession],
        ...sessions.map((s) => [`  ${graphName(s.graph)}`, s.end - s.start]),
        ['generation (after sessions, to ffmpeg)', encode.start - lastSession],
        ['encoding (ffmpeg)', encode.end - encode.start],
        ['signing (Content Credentials), result', e.written - encode.end],
        ['exit (sessions released)', e.exit - e.written],
      ];
      process.stdout.write(`${run}: ${done.frames} frames, ${done.model} on ${done.provider}\n`);
      for (const [name, value] of rows) process.stdout.write(`  ${name.padEnd(40)}${ms(value)}\n`);
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
