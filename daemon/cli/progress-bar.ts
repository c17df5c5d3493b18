/** A one-line progress bar for terminals: redraws in place on stderr, at most every 100 ms. */
export class ProgressBar {
  private lastDraw = 0;

  constructor(private readonly out: NodeJS.WriteStream, private readonly label: string) {}

  update(step: number, total: number, etaSeconds: number | null): void {
    const now = Date.now();
    if (step < total && now - this.lastDraw < 100) return;
    this.lastDraw = now;
    const width = 30;
    const filled = total > 0 ? Math.round((step / total) * width) : 0;
    const eta = etaSeconds === null ? '' : `  eta ${etaSeconds.toFixed(0)}s`;
    this.out.write(`\r${this.label} [${'#'.repeat(filled)}${'-'.repeat(width - filled)}] ${step}/${total} steps${eta}   `);
  }

  finish(): void {
    this.out.write('\n');
  }
}
