import path from 'node:path';
import type { Logger } from 'pino';
import { LongshotError, toErrorBody } from '../../shared/errors';
import { FOOTAGE_DOMAIN, MAX_VARIATIONS, OUTPUT_FORMATS, parseGenerateRequest, variationSeeds, type GenerateRequestInput, type JobWarning, type Reference } from '../../shared/protocol';
import { loadConfig, type Config } from '../config';
import { createVideoPipeline } from '../engine/pipeline';
import { benchPipeline } from '../engine/bench';
import { benchFootage } from './bench-footage';
import { listPackages } from '../engine/model-package';
import { OptimizedGraphCache } from '../engine/ort-session-cache';
import { makeClip } from '../generation/make-clip';
import { ModelRegistry, modelSummary, type PipelineLoader } from '../generation/model-registry';
import { withSeed } from '../generation/request';
import { createLogger } from '../log';
import { MIN_FFMPEG_MAJOR, resolveFfmpeg } from '../media/ffmpeg-path';
import { loadSigningIdentity } from '../media/signing-identity';
import { securePrivateTree } from '../data-dir';
import { Pairing } from '../server/pairing';
import { flagError, numberFlag, parseCommandArgs, parseMediaAt, parseSize, settingFlags, variationPath } from './args';
import { ProgressBar, windowProgress } from './progress-bar';

/** One `longshot` command: its arguments after the command name. */
export type Command = (argv: string[]) => Promise<void>;

/** Every command, loaded by main.ts only once a command (not help) is asked for: these imports are most of the CLI's start-up time. */
export const commands: Record<string, Command> = {
  async serve(argv) {
    const { values } = parseCommandArgs(argv, {});
    const config = loadConfig(settingFlags(values));
    const logger = createLogger(config.logLevel);
    // Imported here: the daemon's HTTP and WebSocket edge (express, ws) is what only serve needs.
    const { startDaemon } = await import('../start-daemon');
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
    securePrivateTree(config.dataDir);
    const pairing = new Pairing(config.dataDir);
    const token = pairing.token();
    // A code only works with the daemon that reads this data folder: one on the port that does not know its token reads another.
    const daemon = await daemonAnswering(config.port, token);
    if (daemon === 'another data folder') {
      throw new LongshotError('conflict', `the daemon on 127.0.0.1:${config.port} does not use the data folder ${config.dataDir} (it refuses its token), so it would not know this code: run pair with that daemon's --data-dir (or LONGSHOT_DATA_DIR)`, { field: 'data-dir' });
    }
    if (daemon === 'none') process.stderr.write(`note: no Longshot daemon answers on 127.0.0.1:${config.port}; start it with \`npx longshot serve\` and the same --data-dir before typing the code\n`);
    const { code, expiresAt } = pairing.createCode();
    const { machineId } = await import('../start-daemon');
    const machine = machineId(config.dataDir);
    if (values.json) {
      process.stdout.write(JSON.stringify({ token, code, machine }) + '\n');
      return;
    }
    process.stdout.write(
      `Pairing code: ${code}  (type it into the Longshot panel; valid until ${expiresAt.toLocaleTimeString()})\n` +
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
      codec: { type: 'string' },
      model: { type: 'string' },
      extend: { type: 'string' },
      'extend-head': { type: 'string' },
      fill: { type: 'string' },
      variations: { type: 'string' },
      output: { type: 'string', short: 'o' },
      json: { type: 'boolean' },
    });
    const config = loadConfig(settingFlags(values));
    if (positionals.length > 1) throw new LongshotError('bad_request', `give the prompt as one quoted argument, got ${positionals.length} words`);
    const output = text('output');
    if (!output) throw new LongshotError('bad_request', '-o: say where to write the clip, for example -o clip.mp4', { field: 'output' });
    const variations = numberFlag(text('variations'), 'variations') ?? 1;
    if (!Number.isInteger(variations) || variations < 1 || variations > MAX_VARIATIONS) {
      throw new LongshotError('bad_request', `--variations: expected a whole number from 1 to ${MAX_VARIATIONS}, got "${text('variations')}"`, { field: 'variations' });
    }
    const referenceFlag = `--${(['extend', 'extend-head', 'fill'] as const).find((f) => text(f) !== undefined) ?? 'extend'}`;
    const asFlagError = <T>(fn: () => T): T => {
      try {
        return fn();
      } catch (err) {
        throw flagError(err, referenceFlag);
      }
    };
    const request = asFlagError(() => parseGenerateRequest(withCliReferences(text, {
      prompt: positionals[0] ?? '',
      seconds: numberFlag(text('seconds'), 'seconds') ?? 4,
      fps: numberFlag(text('fps'), 'fps') ?? 24,
      ...(text('size') ? parseSize(text('size')!) : {}),
      seed: numberFlag(text('seed'), 'seed'),
      steps: numberFlag(text('steps'), 'steps'),
      guidance: numberFlag(text('guidance'), 'guidance'),
      sampler: text('sampler') as GenerateRequestInput['sampler'],
      format: outputFormat(output, text('format')) as GenerateRequestInput['format'],
      codec: text('codec') as GenerateRequestInput['codec'],
      model: text('model'),
    })));
    await assertReferencesExist(request.references, referenceFlag);
    await assertWritableFolder(output);
    const signingIdentity = loadSigningIdentity(config.dataDir);
    // The CLI tells people in plain lines; engine log lines would only repeat them as JSON.
    const logger = createLogger(values.json ? 'silent' : 'error');
    const ffmpeg = await resolveFfmpeg(config.ffmpegPath);
    // The daemon's registry: the same package an HTTP or panel job of this request would run on, and the same warnings.
    const graphCache = OptimizedGraphCache.inDataDir(config.dataDir);
    const registry = modelRegistry(config, logger, { graphCache });
    const seeds = variationSeeds(withSeed(request).seed, variations);
    try {
      const { pipeline, warnings } = await registry.prepare(request);
      const stepsPerWindow = request.steps ?? pipeline.defaults.steps;
      // Plain output says each warning once (variations read the same footage); --json gives every clip's own.
      const said = new Set<string>();
      const warn = (warning: JobWarning, seed: number | null) => {
        if (values.json) process.stdout.write(JSON.stringify({ event: 'warning', ...(seed === null ? {} : { seed }), ...warning }) + '\n');
        else if (!said.has(warning.message)) process.stderr.write(`warning: ${warning.message}\n`);
        said.add(warning.message);
      };
      warnings.forEach((w) => warn(w, null));
      for (const seed of seeds) {
        const clipWarnings = [...warnings];
        const seeded = { ...request, seed };
        const label = `${pipeline.modelName} on ${pipeline.provider}${seeds.length > 1 ? `, seed ${seed}` : ''}`;
        const bar = !values.json && process.stderr.isTTY ? new ProgressBar(process.stderr, label, stepsPerWindow) : null;
        const started = Date.now();
        try {
          const clip = await makeClip(seeded, {
            pipeline,
            ffmpeg,
            outputPath: path.resolve(seeds.length > 1 ? variationPath(output, seed) : output),
            logger,
            signingIdentity,
            onWarning: (w) => {
              clipWarnings.push(w);
              bar?.finish(); // the warning on a line of its own; the bar redraws below it
              warn(w, seed);
            },
            onProgress: (p) => {
              bar?.update(p);
              const where = p.stage === 'sampling' ? windowProgressJson(p.step, p.total, stepsPerWindow) : {};
              if (values.json) process.stdout.write(JSON.stringify({ event: 'progress', seed, stage: p.stage, step: p.step, total: p.total, ...where, etaSeconds: p.etaSeconds }) + '\n');
            },
          });
          bar?.finish();
          const summary = { event: 'done', output: clip.output, sha256: clip.sha256, bytes: clip.bytes, frames: clip.frames, seed, model: pipeline.modelName, provider: pipeline.provider, seconds: (Date.now() - started) / 1000, warnings: clipWarnings };
          process.stdout.write(values.json ? JSON.stringify(summary) + '\n' : `Wrote ${clip.output} (${clip.frames} frames, seed ${seed}, ${summary.seconds.toFixed(1)} s on ${pipeline.provider})\n`);
        } finally {
          bar?.finish();
        }
      }
    } catch (err) {
      throw flagError(err, referenceFlag);
    } finally {
      await registry.close();
    }
  },

  async models(argv) {
    const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    const config = loadConfig(settingFlags(values));
    const { models, errors } = await packagesOf(config);
    if (values.json) {
      process.stdout.write(JSON.stringify({ models: models.map((m) => ({ ...m.manifest, path: m.dir })), errors }) + '\n');
      return;
    }
    for (const m of models.map((pkg) => modelSummary(pkg, config.defaultModel))) {
      process.stdout.write(`${m.default ? '*' : ' '} ${m.name} ${m.version}  knows ${m.domain}, serves ${m.jobs.join(', ')}  ${m.nativeWidth}x${m.nativeHeight}, ${m.framesPerWindow} frames/window  ${m.path}\n`);
    }
    for (const e of errors) process.stdout.write(`! ${e.dir}: ${e.message}\n`);
  },

  async doctor(argv) {
    const { values, text } = parseCommandArgs(argv, { json: { type: 'boolean' }, 'probe-provider': { type: 'string' } });
    const config = loadConfig(settingFlags(values));
    const probeDevice = text('probe-provider');
    if (probeDevice) return probeProvider(config, probeDevice);
    // A check is `required` when a clip cannot be made without it; providers other than the CPU are extras.
    const checks: DoctorCheck[] = [];
    const record = async (check: string, required: boolean, fn: () => Promise<string>) => {
      try {
        checks.push({ check, ok: true, required, detail: await fn() });
      } catch (err) {
        checks.push({ check, ok: false, required, detail: err instanceof Error ? err.message : String(err) });
      }
    };
    await record('ffmpeg', true, async () => {
      const f = await resolveFfmpeg(config.ffmpegPath);
      const old = (f.major ?? 0) < MIN_FFMPEG_MAJOR ? `; WARNING: older than ffmpeg ${MIN_FFMPEG_MAJOR}, it lacks years of decoder security fixes: install a current ffmpeg (apt install ffmpeg) or set --ffmpeg-path` : '';
      return `${f.path} (${f.version}, from ${f.source})${old}`;
    });
    await record('data folder', true, async () => {
      const fs = await import('node:fs/promises');
      securePrivateTree(config.dataDir);
      const probe = path.join(config.dataDir, `.doctor-${process.pid}`);
      await fs.writeFile(probe, 'ok');
      await fs.rm(probe);
      return `${config.dataDir} is writable`;
    });
    await record('pairing token', false, async () => {
      const notice = new Pairing(config.dataDir).tokenNotice();
      if (notice) throw new Error(notice);
      return `kept in ${path.join(config.dataDir, 'token')}`;
    });
    const { models, errors } = await packagesOf(config);
    await record('model packages', true, async () => {
      if (errors.length) throw new Error(errors.map((e) => `${e.dir}: ${e.message}`).join('; '));
      if (!models.length) throw new Error(`no model package in ${config.modelsDir}`);
      if (!models.some((m) => m.manifest.name === config.defaultModel)) throw new Error(`default model "${config.defaultModel}" is not among them; set --default-model`);
      return models.map((m) => `${m.manifest.name} ${m.manifest.version} (hashes verified)`).join(', ');
    });
    const devices = ['cpu', 'webgpu', 'cuda', ...(process.platform === 'win32' ? ['dml'] : []), ...(process.platform === 'darwin' ? ['coreml'] : [])];
    const hasModel = models.some((m) => m.manifest.name === config.defaultModel);
    for (const device of devices) {
      const required = device === 'cpu' || device === config.device;
      const result = hasModel ? await probeInChild(settingFlags(values), device) : { ok: false, detail: 'not probed: no model package to run' };
      checks.push({ check: `provider ${device}`, required, ...result });
    }
    const ok = checks.every((c) => c.ok || !c.required);
    if (values.json) process.stdout.write(JSON.stringify({ ok, checks }) + '\n');
    else {
      for (const c of checks) process.stdout.write(`${c.ok ? 'ok  ' : c.required ? 'FAIL' : '--  '} ${c.check}: ${c.detail}\n`);
      process.stdout.write(ok ? 'Longshot can make clips on this machine.\n' : 'Longshot cannot make clips here until the FAIL lines are fixed.\n');
    }
    if (!ok) process.exitCode = 1;
  },

  async bench(argv) {
    const { values } = parseCommandArgs(argv, { json: { type: 'boolean' } });
    const config = loadConfig(settingFlags(values));
    const logger = createLogger('silent');
    const registry = modelRegistry(config, logger);
    // The default model, built here rather than by the registry: the bench times the engine's own pipeline.
    const model = await registry.choose({ mode: 'broll' });
    const pipeline = await createVideoPipeline(model.path, { device: config.device, threads: config.threads, logger });
    try {
      const figures = await benchPipeline(pipeline);
      // The footage model's figure, where one is installed: an extend of 1 s of 640x360 at 30 fps through longshot generate.
      const extendModel = await registry.choose({ mode: 'extend' });
      const footage = extendModel.domain === FOOTAGE_DOMAIN ? await benchFootage(config, extendModel.path, extendModel.name) : null;
      if (values.json) {
        process.stdout.write(JSON.stringify({ ...figures, footage }) + '\n');
        return;
      }
      const rows: [string, string][] = [
        ['model', `${pipeline.modelName} ${pipeline.modelVersion} (${pipeline.nativeWidth}x${pipeline.nativeHeight}${pipeline.outputHeight === pipeline.nativeHeight ? '' : `, drawn at ${pipeline.outputWidth}x${pipeline.outputHeight}`})`],
        ['provider', figures.provider],
        ['engine step', `${figures.step_ms.toFixed(1)} ms`],
        ['bare session.run', `${figures.bare_step_ms.toFixed(1)} ms`],
        ['overhead', `${(figures.overhead_ratio * 100).toFixed(2)} %`],
        ['2 s clip @ 24 fps', `${figures.clip_2s_seconds.toFixed(2)} s`],
        ['first preview', `${figures.first_preview_ms.toFixed(0)} ms`],
        ['reading references', `${figures.encoder_ms.toFixed(1)} ms for an extend's ${pipeline.contextFrames} frames (${figures.encoder_percent.toFixed(1)} % of the clip's time)`],
        ['frame decoder', `${figures.decoder_ms.toFixed(1)} ms (${figures.decoder_percent.toFixed(1)} % of the clip, previews included)`],
      ];
      if (footage) {
        rows.push(
          ['footage model', footage.model],
          ['extend 1 s 640x360', `${footage.extend_1s_640x360_seconds.toFixed(1)} s through longshot generate at 30 fps, model loading included (budget 30 s)`],
          ['  first preview', `${footage.first_preview_ms.toFixed(0)} ms (budget one step, ${footage.step_ms.toFixed(1)} ms, + 100 ms)`],
          ['  motion transfer', `${footage.motion_transfer_ms.toFixed(0)} ms for its 30 frames`],
        );
      }
      for (const [k, v] of rows) process.stdout.write(`${k.padEnd(20)} ${v}\n`);
    } finally {
      await pipeline.close();
    }
  },
};

/** The format `-o` names: .mp4, .mov, or no extension for a folder of PNG frames; `--format`, when given, must agree. */
function outputFormat(output: string, formatFlag: string | undefined): string {
  const ext = path.extname(output).toLowerCase();
  const named = ({ '.mp4': 'mp4', '.mov': 'mov', '': 'png' } as Record<string, string>)[ext];
  if (!named) throw new LongshotError('bad_request', `-o ${output}: Longshot writes .mp4 (H.264), .mov (ProRes or DNxHR) or, with no extension, a folder of PNG frames, not ${ext}`, { field: 'output' });
  if (formatFlag !== undefined && (OUTPUT_FORMATS as readonly string[]).includes(formatFlag) && formatFlag !== named) {
    throw new LongshotError('bad_request', `--format ${formatFlag} does not match -o ${output}, which names ${named === 'png' ? 'a folder of PNG frames' : `a ${ext} file`}; rename the output or leave out --format`, { field: 'format' });
  }
  return formatFlag ?? named;
}

/** The folder `-o` writes into must exist and take a new file: said before any model loads, not after generating. */
async function assertWritableFolder(output: string): Promise<void> {
  const fs = await import('node:fs/promises');
  const folder = path.dirname(path.resolve(output));
  const stat = await fs.stat(folder).catch(() => null);
  if (!stat?.isDirectory()) throw new LongshotError('bad_request', `-o: the folder ${folder} does not exist; create it first (mkdir -p "${folder}")`, { field: 'output' });
  const probe = path.join(folder, `.longshot-write-check-${process.pid}`);
  try {
    await fs.writeFile(probe, '');
    await fs.rm(probe);
  } catch (err) {
    throw new LongshotError('bad_request', `-o: cannot write in ${folder} (${(err as NodeJS.ErrnoException).code}); pick a folder this user can write to`, { field: 'output', cause: err });
  }
}

/** Whether a Longshot daemon answers on the port, and whether it takes this data folder's token. */
async function daemonAnswering(port: number, token: string): Promise<'this data folder' | 'another data folder' | 'none'> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/v1/jobs?limit=1`, { headers: { authorization: `Bearer ${token}` }, signal: AbortSignal.timeout(2000) });
    await res.body?.cancel();
    return res.status === 200 ? 'this data folder' : res.status === 401 ? 'another data folder' : 'none';
  } catch {
    return 'none';
  }
}

/** The daemon reads only absolute paths; a path typed at the command line is relative to where it was typed. */
function absolutePath<T extends { path: string }>(media: T): T {
  return { ...media, path: path.resolve(media.path) };
}

/** Adds the references and mode of --extend / --extend-head / --fill to a request. */
function withCliReferences(text: (flag: string) => string | undefined, request: GenerateRequestInput): GenerateRequestInput {
  const given = (['extend', 'extend-head', 'fill'] as const).filter((f) => text(f) !== undefined);
  if (given.length > 1) throw new LongshotError('bad_request', `--${given.join(' and --')}: give only one of them`);
  const media = (value: string, flag: string, role: Reference['role']): Reference => ({ role, source: { kind: 'media', ...absolutePath(parseMediaAt(value, flag)) } });
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

/** A missing --extend/--fill file is said before the model loads, not after. */
async function assertReferencesExist(references: Reference[], flag: string): Promise<void> {
  const fs = await import('node:fs/promises');
  for (const ref of references) {
    if (ref.source.kind !== 'media') continue;
    const stat = await fs.stat(ref.source.path).catch(() => null);
    if (!stat?.isFile()) throw new LongshotError('media_unreadable', `${flag}: no video or image file at "${ref.source.path}"`, { field: flag.slice(2) });
  }
}

/** The JSON progress fields in the user's terms: window w of W, step s of --steps. */
function windowProgressJson(step: number, total: number, stepsPerWindow: number) {
  const w = windowProgress(step, total, stepsPerWindow);
  return { window: w.window, windows: w.windows, windowStep: w.step, stepsPerWindow: w.stepsPerWindow };
}

interface DoctorCheck {
  check: string;
  ok: boolean;
  required: boolean;
  detail: string;
}

/** `doctor --probe-provider D`: loads the default model on one provider and prints one JSON line. */
async function probeProvider(config: Config, device: string): Promise<void> {
  const registry = modelRegistry(config, createLogger('silent'), { device });
  try {
    // Chosen first, so that a missing default model is named as the --default-model it is.
    const pipeline = await registry.get((await registry.choose({ mode: 'broll' })).name);
    process.stdout.write(JSON.stringify({ ok: true, detail: `runs ${pipeline.modelName} (probe passed)` }) + '\n');
  } catch (err) {
    process.stdout.write(JSON.stringify({ ok: false, detail: providerAdvice(device, toErrorBody(err).message) }) + '\n');
  } finally {
    await registry.close();
  }
}

/**
 * Probes a provider in a child process: Vulkan, Dawn and onnxruntime write their warnings straight to the
 * process's stderr, so only the child's one JSON line reaches the report.
 */
async function probeInChild(settings: Record<string, string>, device: string): Promise<{ ok: boolean; detail: string }> {
  const { execFile } = await import('node:child_process');
  const args = [process.argv[1]!, 'doctor', '--probe-provider', device, ...Object.entries(settings).flatMap(([k, v]) => [`--${k}`, v])];
  return new Promise((resolve) => {
    execFile(process.execPath, args, { timeout: 120_000, maxBuffer: 1 << 20 }, (err, stdout) => {
      const line = stdout.trim().split('\n').pop() ?? '';
      try {
        resolve(JSON.parse(line));
      } catch {
        resolve({ ok: false, detail: `the ${device} probe crashed (${err?.message.split('\n')[0] ?? 'no output'})` });
      }
    });
  });
}

/** Says "not installed" and the fix for providers that are simply absent; other failures keep their first line. */
export function providerAdvice(device: string, message: string): string {
  if (device === 'cuda' && /Failed to load (shared )?library|libonnxruntime_providers|not (built|supported)/i.test(message)) {
    return 'not installed: onnxruntime-node was installed without its CUDA provider; with CUDA 12 and cuDNN 9, see README "Install scripts and CUDA" (ONNXRUNTIME_NODE_INSTALL=cuda12 npm rebuild onnxruntime-node)';
  }
  if (device === 'webgpu' && /adapter/i.test(message)) {
    return 'no GPU adapter: WebGPU needs a GPU with a Vulkan (Linux), Metal (macOS) or Direct3D 12 (Windows) driver; clips run on the CPU meanwhile';
  }
  if (/not (built|supported|available)|unknown (execution )?provider|no execution provider/i.test(message) && !/could run/.test(message)) {
    return `not installed: this onnxruntime-node build has no ${device} provider`;
  }
  const first = message.split('\n')[0]!.replace(/\/onnxruntime_src\/\S+ /g, '');
  return first.length > 240 ? first.slice(0, 237) + '...' : first;
}

/** The daemon's model registry over the configured models folder, loading on `device` (default: the configured one). */
function modelRegistry(config: Config, logger: Logger, options: { device?: string; graphCache?: OptimizedGraphCache } = {}): ModelRegistry {
  const load: PipelineLoader = (dir, hashes) => createVideoPipeline(dir, { device: options.device ?? config.device, threads: config.threads, logger, hashes, graphCache: options.graphCache });
  return new ModelRegistry(config.modelsDir, config.defaultModel, load, logger);
}

/** Every package of the models folder, with why each broken one is refused: what `models` and `doctor` report. */
async function packagesOf(config: Config) {
  const { packages, errors } = await listPackages(config.modelsDir);
  return { models: packages, errors: errors.map((e) => ({ dir: e.dir, message: e.message })) };
}
