import type { Logger } from 'pino';
import { LongshotError } from '../../shared/errors';
import type { ModelSummary } from '../../shared/protocol';
import { FileHashCache, listPackages } from '../engine/model-package';
import type { VideoPipeline } from '../engine/types';

/** Creates a ready pipeline for a package folder (the engine's `createVideoPipeline`, bound to device and threads),
 * reusing the registry's file hashes. */
export type PipelineLoader = (packageDir: string, hashes: FileHashCache) => Promise<VideoPipeline>;

/**
 * The model packages of a models folder, and the one loaded pipeline. One model is kept in memory at a time:
 * asking for another closes the first (the daemon runs one job at a time).
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

  /** Valid packages of the models folder; broken ones are logged, not listed. */
  async list(): Promise<ModelSummary[]> {
    const { packages, errors } = await listPackages(this.modelsDir, this.hashes);
    for (const e of errors) this.logger.warn({ dir: e.dir, error: e.message }, 'model package skipped');
    this.refused = new Map(errors.map((e) => [e.name, e.message]));
    return packages.map((p) => ({
      name: p.manifest.name,
      version: p.manifest.version,
      default: p.manifest.name === this.defaultModel,
      nativeWidth: p.manifest.native.width,
      nativeHeight: p.manifest.native.height,
      framesPerWindow: p.manifest.frames_per_window,
      fpsRange: p.manifest.fps_range,
      path: p.dir,
    }));
  }

  /** The pipeline of a model by name (default when undefined), loading it on first use. */
  async get(name: string = this.defaultModel): Promise<VideoPipeline> {
    if (this.current?.name === name) return this.current.pipeline;
    const previous = this.current;
    const known = await this.list();
    const entry = known.find((m) => m.name === name);
    const refused = this.refused.get(name);
    if (!entry && refused) throw new LongshotError('model_invalid', `request.model: the package "${name}" is refused: ${refused}`, { field: 'request.model' });
    if (!entry) {
      throw new LongshotError('model_not_found', `model: no valid package named "${name}" in ${this.modelsDir}; available: ${known.map((m) => m.name).join(', ') || 'none'}`, { field: 'request.model' });
    }
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
