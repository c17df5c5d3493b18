import { LongshotError } from '../../shared/errors';
import type { SamplerName } from '../../shared/protocol';
import type { FrameCodec } from './frame-codec';
import type { ModelRunner } from './model-runner';
import type { EngineVideoPipeline } from './pipeline';
import { FLOW_MEASURE_FACTOR, knownRunFlows } from './clip-flows';
import { areaResize, transferMotion, transferMotionAlongFlows, type AnchorFrame, type ResidualOptions } from './motion-transfer';
import type { FlowField } from './optical-flow';
import { modelToRgb, rgbToModel } from './pixels';
import type { PipelineInput, PipelineRunOptions, RgbFrame, VideoPipeline } from './types';

/** Previews are drawn from the footage at most this wide: a glimpse, made while the next step runs. */
const PREVIEW_MAX_WIDTH = 320;

/**
 * A footage package's pipeline (model.json `footage_render: "motion-transfer"`): its U-ViT samples the span at
 * the native size, from the references scaled to it (the whole frame, whatever its aspect, as it was trained),
 * and motion transfer (motion-transfer.ts) carries the footage's own frames along that motion at the footage's
 * size. Reference frames come in, and frames go out, at `input.footageSize`. A motion-latent package (model.json
 * motion_latent) also sees each known frame's flow and generates each frame's own: the footage follows those.
 */
export class FootageVideoPipeline implements VideoPipeline {
  readonly footageSized = true;
  readonly modelName: string;
  readonly modelVersion: string;
  readonly provider: string;
  readonly nativeWidth: number;
  readonly nativeHeight: number;
  readonly outputWidth: number;
  readonly outputHeight: number;
  readonly referenceWidth: number;
  readonly referenceHeight: number;
  readonly contextFrames: number;
  readonly framesPerWindow: number;
  readonly defaults: { steps: number; guidance: number; sampler: SamplerName };

  /** `native`: the package's U-ViT pipeline (pipeline.ts), sampling at the native size. `residual`: how an extend's
   * and a fill's motion transfer add the small residual (model.json motion_transfer). `motion`: a motion-latent
   * package's flow scale (model.json motion_latent): its frames carry their flow, which the footage follows. */
  constructor(
    readonly native: EngineVideoPipeline,
    private readonly residual?: { extend: ResidualOptions; fill: ResidualOptions },
    private readonly motion?: { flowScale: number },
  ) {
    this.modelName = native.modelName;
    this.modelVersion = native.modelVersion;
    this.provider = native.provider;
    this.nativeWidth = native.nativeWidth;
    this.nativeHeight = native.nativeHeight;
    // Without a job's footage these are the native size (what bench and previews of an empty request see).
    this.outputWidth = native.outputWidth;
    this.outputHeight = native.outputHeight;
    this.referenceWidth = native.referenceWidth;
    this.referenceHeight = native.referenceHeight;
    this.contextFrames = native.contextFrames;
    this.framesPerWindow = native.framesPerWindow;
    this.defaults = native.defaults;
    // A first motion transfer runs its code cold, several times slower (72 ms against 29 ms for a 448-wide preview):
    // one on blank frames here, as the U-ViT is warmed up at load, keeps that out of the first preview.
    const blank = new Uint8Array(this.nativeWidth * this.nativeHeight * 3);
    transferMotion({ width: this.nativeWidth, height: this.nativeHeight, smallWidth: this.nativeWidth, smallHeight: this.nativeHeight, generated: [blank, blank], before: { full: blank, small: blank }, after: { full: blank, small: blank } });
    // So is a motion latent's first measurement of the known frames' flows, which runs before the first step.
    if (motion) {
      const measuredBlank = new Uint8Array(this.nativeWidth * FLOW_MEASURE_FACTOR * this.nativeHeight * FLOW_MEASURE_FACTOR * 3);
      knownRunFlows([measuredBlank, measuredBlank], this.nativeWidth * FLOW_MEASURE_FACTOR, this.nativeHeight * FLOW_MEASURE_FACTOR);
    }
  }

  get runner(): ModelRunner {
    return this.native.runner;
  }

  get codec(): FrameCodec {
    return this.native.codec;
  }

  unknownWords(prompt: string): Promise<string[]> {
    return this.native.unknownWords(prompt);
  }

  async run(input: PipelineInput, options: PipelineRunOptions = {}): Promise<RgbFrame[]> {
    const size = input.footageSize;
    if (!size) throw new LongshotError('bad_request', `${this.modelName} continues footage: it needs the footage's frames and size (an extend or a fill)`, { field: 'references' });
    const { width, height } = size;
    const bytes = width * height * 3;
    for (const side of ['before', 'after'] as const) {
      input[side].forEach((frame, i) => {
        if (frame.length !== bytes) throw new LongshotError('bad_request', `${side}[${i}]: a reference frame must be ${width}x${height} RGB (${bytes} bytes), got ${frame.length} bytes`, { field: side });
      });
    }
    if (input.before.length === 0 && input.after.length === 0) {
      throw new LongshotError('bad_request', `${this.modelName} continues footage and cannot draw from a prompt alone: give a clip to extend or a gap to fill, or pick a B-roll model`, { field: 'references' });
    }
    const w = this.nativeWidth;
    const h = this.nativeHeight;
    const small = (frame: RgbFrame) => areaResize(frame, width, height, w, h);
    const before = input.before.map(small);
    const after = input.after.map(small);
    const anchorBefore: AnchorFrame | null = input.before.length ? { full: input.before.at(-1)!, small: before.at(-1)! } : null;
    const anchorAfter: AnchorFrame | null = input.after.length ? { full: input.after[0]!, small: after[0]! } : null;

    // Previews: the estimate carried onto the footage at a preview size, from the nearer anchor.
    const preview = previewSize(width, height);
    const previewAnchor = (anchor: AnchorFrame | null): AnchorFrame | null => anchor && { full: areaResize(anchor.full, width, height, preview.width, preview.height), small: anchor.small };
    const previewBefore = previewAnchor(anchorBefore);
    const previewAfter = previewBefore ? null : previewAnchor(anchorAfter);
    const previewFrame = (planar: Float32Array) => {
      const [frame] = transferMotion({ width: preview.width, height: preview.height, smallWidth: w, smallHeight: h, generated: [modelToRgb(planar, w * h)], before: previewBefore, after: previewAfter });
      return { planar: rgbToModel(frame!, preview.width * preview.height), ...preview };
    };

    const residual = anchorBefore && anchorAfter ? this.residual?.fill : this.residual?.extend;
    const transfer = { width, height, smallWidth: w, smallHeight: h, before: anchorBefore, after: anchorAfter, residual };
    if (!this.motion) {
      const generated = await this.native.run({ ...input, before, after, footageSize: undefined }, { ...options, previewFrame });
      return transferMotion({ ...transfer, generated });
    }
    // A motion latent: the known frames' flow channels measured as training measured them, and the footage carried
    // along the flows the model generates.
    const { flowScale } = this.motion;
    const measured = (frames: RgbFrame[]) => frames.map((frame) => areaResize(frame, width, height, w * FLOW_MEASURE_FACTOR, h * FLOW_MEASURE_FACTOR));
    const planesOf = (frames: RgbFrame[]) => knownRunFlows(measured(frames), w * FLOW_MEASURE_FACTOR, h * FLOW_MEASURE_FACTOR).map((flow) => flow.data.map((v) => v * flowScale));
    const flows: FlowField[] = new Array<FlowField>(input.frameCount);
    const generated = await this.native.run(
      { ...input, before, after, footageSize: undefined, extraPlanes: { before: planesOf(input.before), after: planesOf(input.after) } },
      { ...options, previewFrame, onExtraPlanes: (frame, planes) => (flows[frame] = { width: w, height: h, data: planes.map((v) => v / flowScale) }) },
    );
    // The anchor after is known, so the model draws no flow from it to the last generated frame: that seam moves as
    // the model says the last generated frame moved (measuring it on the small frames instead read an untrained
    // model's still frames as no motion, one step short all the way back).
    return transferMotionAlongFlows({ ...transfer, generated }, { flows, afterFlow: after.length ? flows.at(-1)! : null });
  }

  close(): Promise<void> {
    return this.native.close();
  }
}

function previewSize(width: number, height: number): { width: number; height: number } {
  const scale = Math.min(1, PREVIEW_MAX_WIDTH / width);
  return { width: Math.max(2, Math.round(width * scale)), height: Math.max(2, Math.round(height * scale)) };
}
