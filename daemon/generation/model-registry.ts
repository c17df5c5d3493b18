import type { Logger } from 'pino';
import { LongshotError } from '../../shared/errors';
import { FOOTAGE_DOMAIN, modelJobOf, type GenerateRequest, type JobWarning, type ModelSummary } from '../../shared/protocol';
import { FileHashCache, listPackages, type ModelPackage } from '../engine/model-package';
import type { VideoPipeline } from '../engine/types';
import { requestWarnings } from './job-warnings';

/** Creates a ready pipeline for a package folder (the engine's `createVideoPipeline`, bound to device and threads),
 * reusing the registry's file hashes. */
export type PipelineLoader = (packageDir: string, hashes: FileHashCache) => Promise<VideoPipeline>;

/** A request's model, loaded, with what the request warns about on it. */
export interface PreparedModel {
  model: ModelSummary;
  pipeline: VideoPipeline;
  warnings: JobWarning[];
}

/** A package as `GET /v1/models` and `longshot models` list it. */
export function modelSummary(pkg: ModelPackage, defaultModel: string): ModelSummary {
  const { manifest } = pkg;
  return {
    name: manifest.name,
    version: manifest.version,
    default: manifest.name === defaultModel,
    nativeWidth: manifest.native.width,
    nativeHeight: manifest.native.height,
    framesPerWindow: manifest.frames_per_window,
    fpsRange: manifest.fps_range,
    domain: manifest.domain,
    jobs: manifest.jobs,
    path: pkg.dir,
  };
}

/**
 * The model packages of a models folder, which of them a request runs on, and the one loaded pipeline. One model is
 * kept in memory at a time: asking for another closes the first (the daemon runs one job at a time).
 */
export class ModelRegistry {
  private current: { name: string; pipeline: Promise<VideoPipeline> } | null = null;
  // Listing packages verifies every file's sha256; the cache re-hashes only files whose size or mtime changed,
  // so multi-GB packages are read once, not on every job.
  private readonly hashes = new FileHashCache();
  /** The pipeline that finished loading last, for `/health`; null until one has. */
  ready: VideoPipeline | null = null;
  /** Why each package of the last listing was refused, by its folder's name: a job naming one is told why. */
  private refused = new Map<string, string>();

  constructor(
    private readonly modelsDir: string,
    private readonly defaultModel: string,
    private readonly load: PipelineLoader,
    private readonly logger: Logger,
  ) {}

  /** Valid packages of the models folder, by name; broken ones are logged, not listed. */
  async list(): Promise<ModelSummary[]> {
    const { packages, errors } = await listPackages(this.modelsDir, this.hashes);
    for (const e of errors) this.logger.warn({ dir: e.dir, error: e.message }, 'model package skipped');
    this.refused = new Map(errors.map((e) => [e.name, e.message]));
    return packages.map((p) => modelSummary(p, this.defaultModel)).sort((a, b) => a.name.localeCompare(b.name));
  }

  /**
   * The package a request runs on. A named model is used as named. With none, an extend or a fill goes to a package
   * whose domain is footage and whose jobs include it (by name, the first), where one is installed: the ShapesWorld
   * model cannot read camera footage. Everything else goes to the default model.
   */
  async choose(request: Pick<GenerateRequest, 'mode' | 'model'>): Promise<ModelSummary> {
    const known = await this.list();
    const available = () => `available: ${known.map((m) => m.name).join(', ') || 'none'}`;
    if (request.model !== undefined) {
      const named = known.find((m) => m.name === request.model);
      const refused = this.refused.get(request.model);
      if (!named && refused) throw new LongshotError('model_invalid', `request.model: the package "${request.model}" is refused: ${refused}`, { field: 'request.model' });
      if (!named) throw new LongshotError('model_not_found', `request.model: no valid package named "${request.model}" in ${this.modelsDir}; ${available()}`, { field: 'request.model' });
      return named;
    }
    const job = modelJobOf(request.mode);
    const footage = job === 'broll' ? undefined : known.find((m) => m.domain === FOOTAGE_DOMAIN && m.jobs.includes(job));
    if (footage) return footage;
    const fallback = known.find((m) => m.name === this.defaultModel);
    if (!fallback) throw new LongshotError('model_not_found', `the default model "${this.defaultModel}" is not a valid package in ${this.modelsDir} (--default-model); ${available()}`);
    return fallback;
  }

  /** The request's model (`name`, or the one {@link choose} picks), loaded, and what the request warns about on it. */
  async prepare(request: GenerateRequest, name?: string): Promise<PreparedModel> {
    const model = await this.choose({ mode: request.mode, model: name ?? request.model });
    const pipeline = await this.get(model.name);
    return { model, pipeline, warnings: requestWarnings(request, model, await pipeline.unknownWords(request.prompt)) };
  }

  /** The pipeline of a model by name (default when undefined), loading it on first use. */
  async get(name: string = this.defaultModel): Promise<VideoPipeline> {
    if (this.current?.name === name) return this.current.pipeline;
    const previous = this.current;
    const entry = await this.choose({ mode: 'broll', model: name });
    const started = Date.now();
    const pipeline = this.load(entry.path, this.hashes);
    this.current = { name, pipeline };
    if (previous) void previous.pipeline.then((p) => p.close()).catch(() => undefined);
    try {
      const ready = await pipeline;
      if (this.current?.pipeline === pipeline) this.ready = ready;
      this.logger.info({ model: name, provider: ready.provider, ms: Date.now() - started }, 'model loaded');
      return ready;
    } catch (err) {
      if (this.current?.pipeline === pipeline) this.current = null;
      throw err;
    }
  }

  async close(): Promise<void> {
    const current = this.current;
    this.current = null;
    this.ready = null;
    if (current) await current.pipeline.then((p) => p.close()).catch(() => undefined);
  }
}
