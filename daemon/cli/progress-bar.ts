import type { PipelineProgress } from '../engine/types';

/** What the bar shows of the pipeline's progress (not its preview). */
type BarProgress = Pick<PipelineProgress, 'stage' | 'step' | 'total' | 'etaSeconds'>;

/** Where the sampler is, the way a user thinks of it: window w of W, step s of the --steps per window. */
export interface WindowProgress {
  window: number;
  windows: number;
  step: number;
  stepsPerWindow: number;
}

/** Splits the pipeline's running step count (all windows together) into window and step within it. */
export function windowProgress(step: number, total: number, stepsPerWindow: number): WindowProgress {
  const per = Math.max(1, stepsPerWindow);
  const windows = Math.max(1, Math.round(total / per));
  const window = Math.min(windows, Math.max(1, Math.ceil(step / per)));
  return { window, windows, step: step - (window - 1) * per, stepsPerWindow: per };
}

/** A one-line progress bar for terminals: redraws in place on stderr, at most every 100 ms. */
export class ProgressBar {
  private lastDraw = 0;
  private drawn = false;

  constructor(private readonly out: NodeJS.WriteStream, private readonly label: string, private readonly stepsPerWindow: number) {}

  update(progress: BarProgress): void {
    const now = Date.now();
    if (progress.step < progress.total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    this.drawn = true;
    this.out.write(`\r${this.label} ${formatProgress(progress, this.stepsPerWindow)}   `);
  }

  /** Ends the bar's line (only if one was drawn), so what follows starts on its own line. */
  finish(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}

/** `[####------] window 2/4 · step 5/12  eta 3s`; one window prints no window count; before sampling,
 * `[####------] reading reference frame 2/4  eta 1s`. */
export function formatProgress(progress: BarProgress, stepsPerWindow: number): string {
  const { stage, step, total, etaSeconds } = progress;
  const width = 30;
  const filled = total > 0 ? Math.round((step / total) * width) : 0;
  const w = windowProgress(step, total, stepsPerWindow);
  const where =
    stage === 'reading' ? `reading reference frame ${step}/${total}`
    : w.windows > 1 ? `window ${w.window}/${w.windows} · step ${w.step}/${w.stepsPerWindow}`
    : `step ${w.step}/${w.stepsPerWindow}`;
  const eta = etaSeconds === null ? '' : `  eta ${etaSeconds.toFixed(0)}s`;
  return `[${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${where}${eta}`;
}
