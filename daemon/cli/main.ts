import path from 'node:path';
import { LongshotError, toErrorBody } from '../../shared/errors';
import { parseGenerateRequest, type GenerateRequestInput, type Reference } from '../../shared/protocol';
import { loadConfig, type Config } from '../config';
import { createVideoPipeline } from '../engine/pipeline';
import { benchPipeline } from '../engine/bench';
import { listPackages } from '../engine/model-package';
import { makeClip } from '../generation/make-clip';
import { withSeed } from '../generation/request';
import { createLogger } from '../log';
import { resolveFfmpeg } from '../media/ffmpeg-path';
import { Pairing } from '../server/pairing';
import { machineId, startDaemon } from '../start-daemon';
import { numberFlag, parseCommandArgs, parseMediaAt, parseSize, settingFlags } from './args';
import { ProgressBar } from './progress-bar';

const USAGE = `Usage: longshot <command> [options]

Commands:
  serve      run the daemon on 127.0.0.1 (--port, --data-dir, --models-dir, --device, --threads)
  pair       print the pairing token and a one-time code for the panel (--json)
  generate   make a clip: longshot generate "<prompt>" --seconds S --fps F [--size WxH] [--seed N]
             [--steps N] [--guidance G] [--sampler dpmpp-2m|ddim] [--format mp4|mov|png]
             [--extend FILE@T | --extend-head FILE@T | --fill A@T1,B@T2] -o out.mp4 [--json]
  models     list the model packages (--json)
  doctor     check providers, ffmpeg, the data folder and model hashes (--json)
  bench      measure the engine: step time, overhead, 2 s clip time, first preview (--json)

Settings (flag or environment variable): --port LONGSHOT_PORT, --data-dir LONGSHOT_DATA_DIR,
  --models-dir LONGSHOT_MODELS_DIR, --default-model LONGSHOT_MODEL, --device LONGSHOT_DEVICE,
  --threads LONGSHOT_THREADS, --ffmpeg-path LONGSHOT_FFMPEG, --queue-cap LONGSHOT_QUEUE_CAP,
  --log-level LONGSHOT_LOG_LEVEL`;

type Command = (argv: string[]) => Promise<void>;

const commands: Record<string, Command> = {
  async serve(argv) {
    const { values } = parseCommandArgs(argv, {});
    const config = loadConfig(settingFlags(values));
    const logger = createLogger(config.logLevel);
    const daemon = await startDaemon(config, { logger });
    process.stdout.write(
      `Longshot daemon listening on ${daemon.url} (data: ${config.dataDir})\n` +
        `Pair the Premiere panel: run \`npx longshot pair\` and type the code it shows into the panel.\n`,
    );
    const stop = async (signal: string) => {
      logger.info({ signal }, 'daemon stopping');
      await daemon.close();
      process.exit(0);
    };
    process.once('SIGINT', () => void stop('SIGINT'));
    process.once('SIGTERM', () => void stop('SIGTERM'));
  },

  async pair(argv) {
    const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    const config = loadConfig(settingFlags(values));
    const pairing = new Pairing(config.dataDir);
    const token = pairing.token();
    const { code, expiresAt } = pairing.createCode();
    const machine = machineId(config.dataDir);
    if (values.json) {
      process.stdout.write(JSON.stringify({ token, code, machine }) + '\n');
      return;
    }
    process.stdout.write(
      `Pairing code: ${code}  (type it into the Longshot panel; valid until ${expiresAt.toLocaleTimeString()}, 5 tries)\n` +
        `Token for other clients (Authorization: Bearer …): ${token}\n` +
        `Machine: ${machine}\n`,
    );
  },

  async generate(argv) {
    const { values, positionals, text } = parseCommandArgs(argv, {
      seconds: { type: 'string' },
      fps: { type: 'string' },
      size: { type: 'string' },
      seed: { type: 'string' },
      steps: { type: 'string' },
      guidance: { type: 'string' },
      sampler: { type: 'string' },
      format: { type: 'string' },
      model: { type: 'string' },
      extend: { type: 'string' },
      'extend-head': { type: 'string' },
      fill: { type: 'string' },
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
    });
    const config = loadConfig(settingFlags(values));
    if (positionals.length > 1) throw new LongshotError('bad_request', `give the prompt as one quoted argument, got ${positionals.length} words`);
    const output = text('output');
    if (!output) throw new LongshotError('bad_request', '-o: say where to write the clip, for example -o clip.mp4', { field: 'output' });
    const request = parseGenerateRequest(withCliReferences(text, {
      prompt: positionals[0] ?? '',
      seconds: numberFlag(text('seconds'), 'seconds') ?? 4,
      fps: numberFlag(text('fps'), 'fps') ?? 24,
      ...(text('size') ? parseSize(text('size')!) : {}),
      seed: numberFlag(text('seed'), 'seed'),
      steps: numberFlag(text('steps'), 'steps'),
      guidance: numberFlag(text('guidance'), 'guidance'),
      sampler: text('sampler') as GenerateRequestInput['sampler'],
      format: (text('format') ?? formatFromPath(output)) as GenerateRequestInput['format'],
      model: text('model'),
    }));
    // The CLI tells people in plain lines; engine log lines would only repeat them as JSON.
    const logger = createLogger(values.json ? 'silent' : 'error');
    const ffmpeg = await resolveFfmpeg(config.ffmpegPath);
    const { models } = await modelRegistryOf(config);
    const name = request.model ?? config.defaultModel;
    const entry = models.find((m) => m.manifest.name === name);
    if (!entry) throw new LongshotError('model_not_found', `--model: no valid package named "${name}" in ${config.modelsDir}`, { field: 'model' });
    const pipeline = await createVideoPipeline(entry.dir, { device: config.device, threads: config.threads, logger });
    const seeded = withSeed(request);
    const ignored = pipeline.unknownWords(seeded.prompt);
    if (ignored.length && !values.json) process.stderr.write(`warning: ${pipeline.modelName} does not know ${ignored.map((w) => `"${w}"`).join(', ')}; those words were ignored\n`);
    const bar = !values.json && process.stderr.isTTY ? new ProgressBar(process.stderr, `${pipeline.modelName} on ${pipeline.provider}`) : null;
    const started = Date.now();
    try {
      const clip = await makeClip(seeded, {
        pipeline,
        ffmpegPath: ffmpeg.path,
        outputPath: path.resolve(output),
        logger,
        onProgress: (p) => {
          bar?.update(p.step, p.total, p.etaSeconds);
          if (values.json) process.stdout.write(JSON.stringify({ event: 'progress', step: p.step, total: p.total, etaSeconds: p.etaSeconds }) + '\n');
        },
      });
      bar?.finish();
      const summary = { event: 'done', output: clip.output, sha256: clip.sha256, bytes: clip.bytes, frames: clip.frames, seed: seeded.seed, model: pipeline.modelName, provider: pipeline.provider, seconds: (Date.now() - started) / 1000 };
      process.stdout.write(values.json ? JSON.stringify(summary) + '\n' : `Wrote ${clip.output} (${clip.frames} frames, seed ${seeded.seed}, ${summary.seconds.toFixed(1)} s on ${pipeline.provider})\n`);
    } finally {
      await pipeline.close();
    }
  },

  async models(argv) {
    const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    const config = loadConfig(settingFlags(values));
    const { models, errors } = await modelRegistryOf(config);
    if (values.json) {
      process.stdout.write(JSON.stringify({ models: models.map((m) => ({ ...m.manifest, path: m.dir })), errors }) + '\n');
      return;
    }
    for (const m of models) {
      const mark = m.manifest.name === config.defaultModel ? '*' : ' ';
      process.stdout.write(`${mark} ${m.manifest.name} ${m.manifest.version}  ${m.manifest.native.width}x${m.manifest.native.height}, ${m.manifest.frames_per_window} frames/window  ${m.dir}\n`);
    }
    for (const e of errors) process.stdout.write(`! ${e.dir}: ${e.message}\n`);
  },

  async doctor(argv) {
    const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    const config = loadConfig(settingFlags(values));
    const checks: { check: string; ok: boolean; detail: string }[] = [];
    const record = async (check: string, fn: () => Promise<string>) => {
      try {
        checks.push({ check, ok: true, detail: await fn() });
      } catch (err) {
        checks.push({ check, ok: false, detail: toErrorBody(err).message });
      }
    };
    await record('ffmpeg', async () => {
      const f = await resolveFfmpeg(config.ffmpegPath);
      return `${f.path} (${f.version})`;
    });
    await record('data folder', async () => {
      const fs = await import('node:fs/promises');
      await fs.mkdir(config.dataDir, { recursive: true });
      const probe = path.join(config.dataDir, `.doctor-${process.pid}`);
      await fs.writeFile(probe, 'ok');
      await fs.rm(probe);
      return `${config.dataDir} is writable`;
    });
    const { models, errors } = await modelRegistryOf(config);
    await record('model packages', async () => {
      if (errors.length) throw new Error(errors.map((e) => `${e.dir}: ${e.message}`).join('; '));
      if (!models.length) throw new Error(`no model package in ${config.modelsDir}`);
      return models.map((m) => `${m.manifest.name} ${m.manifest.version} (hashes verified)`).join(', ');
    });
    const entry = models.find((m) => m.manifest.name === config.defaultModel);
    for (const device of ['cpu', 'webgpu', 'cuda', ...(process.platform === 'win32' ? ['dml'] : []), ...(process.platform === 'darwin' ? ['coreml'] : [])]) {
      await record(`provider ${device}`, async () => {
        if (!entry) throw new Error(`default model "${config.defaultModel}" not found`);
        const pipeline = await createVideoPipeline(entry.dir, { device, threads: config.threads, logger: createLogger('silent') });
        await pipeline.close();
        return `runs ${pipeline.modelName} (probe passed)`;
      });
    }
    if (values.json) process.stdout.write(JSON.stringify({ ok: checks.every((c) => c.ok || c.check.startsWith('provider ')), checks }) + '\n');
    else for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : 'FAIL'} ${c.check}: ${c.detail}\n`);
  },

  async bench(argv) {
    const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    const config = loadConfig(settingFlags(values));
    const { models } = await modelRegistryOf(config);
    const entry = models.find((m) => m.manifest.name === config.defaultModel);
    if (!entry) throw new LongshotError('model_not_found', `--default-model: no valid package named "${config.defaultModel}" in ${config.modelsDir}`);
    const pipeline = await createVideoPipeline(entry.dir, { device: config.device, threads: config.threads, logger: createLogger('silent') });
    try {
      const figures = await benchPipeline(pipeline);
      if (values.json) {
        process.stdout.write(JSON.stringify(figures) + '\n');
        return;
      }
      const rows: [string, string][] = [
        ['model', `${pipeline.modelName} ${pipeline.modelVersion} (${pipeline.nativeWidth}x${pipeline.nativeHeight})`],
        ['provider', figures.provider],
        ['engine step', `${figures.step_ms.toFixed(1)} ms`],
        ['bare session.run', `${figures.bare_step_ms.toFixed(1)} ms`],
        ['overhead', `${(figures.overhead_ratio * 100).toFixed(2)} %`],
        ['2 s clip @ 24 fps', `${figures.clip_2s_seconds.toFixed(2)} s`],
        ['first preview', `${figures.first_preview_ms.toFixed(0)} ms`],
      ];
      for (const [k, v] of rows) process.stdout.write(`${k.padEnd(20)} ${v}\n`);
    } finally {
      await pipeline.close();
    }
  },
};

function formatFromPath(file: string): string {
  const ext = path.extname(file).toLowerCase();
  return ext === '.mov' ? 'mov' : ext === '' ? 'png' : 'mp4';
}

/** Adds the references and mode of --extend / --extend-head / --fill to a request. */
function withCliReferences(text: (flag: string) => string | undefined, request: GenerateRequestInput): GenerateRequestInput {
  const given = (['extend', 'extend-head', 'fill'] as const).filter((f) => text(f) !== undefined);
  if (given.length > 1) throw new LongshotError('bad_request', `--${given.join(' and --')}: give only one of them`);
  const media = (value: string, flag: string, role: Reference['role']): Reference => ({ role, source: { kind: 'media', ...parseMediaAt(value, flag) } });
  const extend = text('extend');
  const extendHead = text('extend-head');
  const fill = text('fill');
  if (extend) return { ...request, mode: 'extend', references: [media(extend, 'extend', 'before')] };
  if (extendHead) return { ...request, mode: 'extend-head', references: [media(extendHead, 'extend-head', 'after')] };
  if (fill) {
    const parts = fill.split(',');
    if (parts.length !== 2) throw new LongshotError('bad_request', `--fill: expected A.mp4@T1,B.mp4@T2, got "${fill}"`, { field: 'fill' });
    return { ...request, mode: 'fill', references: [media(parts[0]!, 'fill', 'before'), media(parts[1]!, 'fill', 'after')] };
  }
  return request;
}

async function modelRegistryOf(config: Config) {
  const { packages, errors } = await listPackages(config.modelsDir);
  return { models: packages, errors: errors.map((e) => ({ dir: e.dir, message: e.message })) };
}

/** Runs the command line; exits 2 on usage errors, 1 on failures, with one clear line on stderr. */
export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  const wantsHelp = (arg: string | undefined) => arg === '--help' || arg === '-h';
  const options = rest.includes('--') ? rest.slice(0, rest.indexOf('--')) : rest; // after `--`, "--help" is a prompt
  if (!name || name === 'help' || wantsHelp(name) || options.some(wantsHelp)) {
    process.stdout.write(USAGE + '\n');
    return;
  }
  const command = commands[name];
  if (!command) {
    process.stderr.write(`error: unknown command "${name}"\n\n${USAGE}\n`);
    process.exit(2);
  }
  try {
    await command(rest);
  } catch (err) {
    const body = toErrorBody(err);
    process.stderr.write(`\nerror: ${body.message}\n`);
    process.exit(body.code === 'bad_request' ? 2 : 1);
  }
}

void main(process.argv.slice(2));
