/**
 * The panel's view: Spectrum widgets bound to PanelState. It reads the form, calls PanelController actions and
 * redraws from the store; it never talks to the daemon or Premiere itself.
 */
import { DAEMON_PORT, MAX_SEED, MAX_VARIATIONS } from '../../shared/protocol-constants';
import type { JobKind, PanelController } from '../state/panel-controller';
import type { Mode, ModelSummary } from '../../shared/protocol';
import { modeOf } from '../state/job-request';
import type { JobView, PanelState } from '../state/panel-state';

const JOB_BUTTONS: [JobKind, string, string][] = [
  ['broll', 'B-roll at playhead', 'cta'],
  ['extend', 'Extend selected clip', 'primary'],
  ['extend-head', 'Extend clip head', 'secondary'],
  ['fill', 'Fill gap at playhead', 'primary'],
];

/** Connection help: the port cannot be changed from the panel (plugin/README.md says the same). */
export const PORT_HELP = `The panel reaches the daemon only at 127.0.0.1:${DAEMON_PORT}; this port is fixed (Premiere lets the panel reach only the address in its manifest), so start the daemon with \`npx longshot serve\` and no --port.`;

const MODE_NAMES: Record<Mode, string> = { broll: 'B-roll', extend: 'Extend', 'extend-head': 'Extend head', fill: 'Fill gap' };

/** Values of Spectrum text fields (UXP's sp-textfield exposes `value` like an input). */
function fieldValue(el: Element): string {
  return String((el as unknown as { value?: unknown }).value ?? '').trim();
}

function optionalInt(text: string): number | undefined {
  return text === '' ? undefined : Number.parseInt(text, 10);
}

/** A form field read: its value, or the inline error to show under it. */
export type FieldRead<T> = { ok: true; value: T } | { ok: false; error: string };

/**
 * Reads the seed field: empty is "random"; otherwise digits only, 0 … MAX_SEED (every seed the daemon prints). A text
 * field, since UXP's number fields only span about ±214,748.
 */
export function readSeed(text: string): FieldRead<number | undefined> {
  if (text === '') return { ok: true, value: undefined };
  if (!/^[0-9]+$/.test(text) || Number(text) > MAX_SEED) return { ok: false, error: `Seed: a whole number from 0 to ${MAX_SEED} (digits only), or empty for a random one` };
  return { ok: true, value: Number(text) };
}

/** Reads the ×N field: how many variations (seeds s, s+1, …), 1 … MAX_VARIATIONS; empty is 1. */
export function readVariations(text: string): FieldRead<number> {
  if (text === '') return { ok: true, value: 1 };
  if (!/^[0-9]+$/.test(text) || Number(text) < 1 || Number(text) > MAX_VARIATIONS) return { ok: false, error: `×N: a whole number of variations from 1 to ${MAX_VARIATIONS}` };
  return { ok: true, value: Number(text) };
}

/** What a job's status line says. */
export function jobStatus(job: JobView): string {
  switch (job.phase) {
    case 'queued':
      return 'Queued';
    case 'running':
      if (!job.progress) return 'Starting…';
      return (job.progress.stage === 'reading' ? `Reading reference frame ${job.progress.step}/${job.progress.total}` : `Step ${job.progress.step}/${job.progress.total}`) +
        (job.progress.etaSeconds === null ? '' : ` · about ${Math.ceil(job.progress.etaSeconds)} s left`);
    case 'placing':
      return job.message ?? 'Placing on the timeline…';
    case 'placed': {
      const p = job.placement!;
      return `On V${p.trackIndex + 1} at ${p.startSeconds.toFixed(2)} s in "${p.sequenceName}"`;
    }
    case 'ready':
      return job.message ?? 'Ready to place';
    case 'failed':
      return job.message ?? 'Failed';
    case 'cancelled':
      return 'Cancelled';
  }
}

/** A job's seed line: the seed the daemon ran, so the shot can be made again. */
export function jobSeedText(job: JobView): string {
  return job.seed === null ? '' : `Seed ${job.seed}`;
}

/** A job's model line: the package that runs it, or Automatic until the daemon has chosen one. */
export function jobModelText(job: JobView): string {
  return job.model === null ? 'Model: Automatic (chosen when it starts)' : `Model: ${job.model}`;
}

/** The model picker's choices: Automatic (no model in the request), then each package with what it knows. */
export function modelChoices(models: readonly ModelSummary[]): { value: string; label: string }[] {
  return [{ value: '', label: 'Automatic' }, ...models.map((m) => ({ value: m.name, label: `${m.name} (${m.domain}: ${m.jobs.join(', ')})` }))];
}

/** The picture a job row shows: its poster once the clip is done, else the latest preview (data: URLs). */
export function jobPicture(job: JobView): string | null {
  const jpeg = job.poster ?? job.preview;
  return jpeg === null ? null : `data:image/jpeg;base64,${jpeg}`;
}

function el(doc: Document, tag: string, attrs: Record<string, string> = {}, text?: string): HTMLElement {
  const node = doc.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, v);
  if (text !== undefined) node.textContent = text;
  return node;
}

// UXP's DOM is a subset: appendChild and classList rather than append, replaceChildren or `hidden`.
function add(parent: Node, ...children: Node[]): void {
  for (const child of children) parent.appendChild(child);
}

function show(node: HTMLElement, visible: boolean): void {
  if (visible) node.classList.remove('is-hidden');
  else node.classList.add('is-hidden');
}

/** Builds the panel inside `root` and keeps it in step with the controller's store. Returns the unmount function. */
export function mountPanel(root: HTMLElement, controller: PanelController): () => void {
  const doc = root.ownerDocument;
  while (root.firstChild) root.removeChild(root.firstChild);

  const header = el(doc, 'header', { class: 'connection' });
  const dot = el(doc, 'span', { class: 'dot' });
  const connectionText = el(doc, 'span', { class: 'connection-text' });
  add(header, dot, connectionText);

  const pairing = el(doc, 'section', { class: 'pairing' });
  const pairCode = el(doc, 'sp-textfield', { id: 'pair-code', placeholder: 'Code from npx longshot pair' });
  const pairButton = el(doc, 'sp-button', { id: 'pair', variant: 'cta' }, 'Pair');
  const portHelp = el(doc, 'p', { class: 'port-help' }, PORT_HELP);
  add(pairing, pairCode, pairButton);

  const compose = el(doc, 'section', { class: 'compose' });
  const prompt = el(doc, 'sp-textarea', { id: 'prompt', placeholder: 'Describe the shot, e.g. "a red circle bounces left"' });
  const settings = el(doc, 'div', { class: 'settings' });
  const seconds = el(doc, 'sp-textfield', { id: 'seconds', type: 'number', value: '4', title: 'Duration in seconds (extend: up to 60; fill: the gap decides)' });
  const seed = el(doc, 'sp-textfield', { id: 'seed', placeholder: 'random', title: `Seed: 0 to ${MAX_SEED} (empty: random)` });
  const steps = el(doc, 'sp-textfield', { id: 'steps', type: 'number', placeholder: 'model default', title: 'Sampler steps' });
  const variations = el(doc, 'sp-textfield', { id: 'variations', value: '1', title: `Variations: makes N jobs with seeds s, s+1, … (1 to ${MAX_VARIATIONS}), each placed as it finishes` });
  const modelPicker = el(doc, 'select', { id: 'model', title: 'Model: Automatic runs extends and fills on a footage model where the daemon has one, B-roll on its default model' }) as HTMLSelectElement;
  for (const [label, field] of [['Seconds', seconds], ['Seed', seed], ['×N', variations], ['Steps', steps], ['Model', modelPicker]] as const) {
    const wrap = el(doc, 'label', { class: 'setting' });
    add(wrap, el(doc, 'sp-label', {}, label), field);
    add(settings, wrap);
  }
  /** A field read on every keystroke and on submit, its error shown inline under the settings. */
  const checked = <T>(field: HTMLElement, id: string, read: (text: string) => FieldRead<T>) => {
    const error = el(doc, 'div', { id, class: 'field-error is-hidden', role: 'alert' });
    const check = () => {
      const result = read(fieldValue(field));
      error.textContent = result.ok ? '' : result.error;
      show(error, !result.ok);
      return result;
    };
    field.addEventListener('input', () => void check());
    return { error, check };
  };
  const seedField = checked(seed, 'seed-error', readSeed);
  const checkSeed = seedField.check;
  const variationsField = checked(variations, 'variations-error', readVariations);
  const actions = el(doc, 'div', { class: 'actions' });
  for (const [kind, label, variant] of JOB_BUTTONS) {
    const button = el(doc, 'sp-button', { id: `job-${kind}`, variant }, label);
    button.addEventListener('click', () => {
      const seedRead = checkSeed();
      const variationsRead = variationsField.check();
      if (!seedRead.ok || !variationsRead.ok) return;
      void controller.generate(kind, {
        prompt: fieldValue(prompt),
        seconds: Number(fieldValue(seconds) || '4'),
        seed: seedRead.value,
        steps: optionalInt(fieldValue(steps)),
        variations: variationsRead.value,
        model: modelPicker.value || undefined,
      });
    });
    add(actions, button);
  }
  add(compose, prompt, settings, seedField.error, variationsField.error, actions);

  const notice = el(doc, 'p', { class: 'notice', role: 'status' });
  const list = el(doc, 'ul', { class: 'jobs' });
  add(root, header, pairing, portHelp, compose, notice, list);

  pairButton.addEventListener('click', () => void controller.pair(fieldValue(pairCode)));

  let shownModels: readonly ModelSummary[] | null = null;
  /** Refills the picker when the daemon's list changes, keeping the choice while that model is still there. */
  function renderModelChoices(models: readonly ModelSummary[]): void {
    if (models === shownModels) return;
    shownModels = models;
    const chosen = modelPicker.value;
    while (modelPicker.firstChild) modelPicker.removeChild(modelPicker.firstChild);
    for (const choice of modelChoices(models)) add(modelPicker, el(doc, 'option', { value: choice.value }, choice.label));
    modelPicker.value = models.some((m) => m.name === chosen) ? chosen : '';
  }

  const rows = new Map<string, ReturnType<typeof jobRow>>();
  function jobRow(job: JobView) {
    const li = el(doc, 'li', { class: 'job', 'data-job': job.id });
    const preview = el(doc, 'img', { class: 'preview', alt: '' }) as HTMLImageElement;
    const body = el(doc, 'div', { class: 'job-body' });
    const title = el(doc, 'div', { class: 'job-title' });
    const bar = el(doc, 'sp-progressbar', { max: '100', value: '0', size: 's' });
    const status = el(doc, 'div', { class: 'job-status' });
    const seedLine = el(doc, 'div', { class: 'job-seed' });
    const seedText = el(doc, 'span', { class: 'job-seed-text' });
    const modelLine = el(doc, 'div', { class: 'job-model' });
    const warnings = el(doc, 'ul', { class: 'job-warnings' });
    const buttons = el(doc, 'div', { class: 'job-buttons' });
    const button = (name: string, label: string, act: () => void, parent = buttons) => {
      const b = el(doc, 'sp-button', { class: `job-${name}`, size: 's', variant: 'secondary', quiet: '' }, label);
      b.addEventListener('click', act);
      add(parent, b);
      return b;
    };
    const cancel = button('cancel', 'Cancel', () => controller.cancel(job.id));
    const retry = button('retry', 'Retry', () => void controller.retry(job.id));
    const place = button('place', 'Place', () => void controller.place(job.id));
    const reveal = button('reveal', 'Show file', () => void controller.reveal(job.id));
    add(seedLine, seedText);
    button('copy-seed', 'Copy', () => void controller.copySeed(job.id), seedLine);
    button('reuse-seed', 'Reuse seed', () => {
      const current = controller.store.get().jobs.find((j) => j.id === job.id)?.seed;
      if (current === null || current === undefined) return;
      (seed as unknown as { value: string }).value = String(current);
      checkSeed();
    }, seedLine);
    add(body, title, bar, status, seedLine, modelLine, warnings, buttons);
    add(li, preview, body);
    return { li, preview, title, bar, status, seedLine, seedText, modelLine, warnings, shownWarnings: null as JobView['warnings'] | null, cancel, retry, place, reveal };
  }

  function render(state: PanelState): void {
    const { connection } = state;
    header.setAttribute('data-status', connection.status);
    const info = connection.info;
    connectionText.textContent =
      connection.status === 'connected' && info
        ? `${info.hostname} (${info.machine.slice(0, 8)}) · ${info.model ?? 'loading model…'}${info.provider ? ` on ${info.provider}` : ''}`
        : connection.message;
    show(pairing, connection.status === 'unpaired' || connection.status === 'unauthorized');
    show(portHelp, connection.status !== 'connected');

    renderModelChoices(state.models);
    notice.textContent = state.notice?.text ?? '';
    notice.setAttribute('data-kind', state.notice?.kind ?? '');

    const seen = new Set<string>();
    state.jobs.forEach((job, index) => {
      seen.add(job.id);
      let row = rows.get(job.id);
      if (!row) {
        row = jobRow(job);
        rows.set(job.id, row);
      }
      if (list.children[index] !== row.li) list.insertBefore(row.li, list.children[index] ?? null);
      row.li.setAttribute('data-phase', job.phase);
      row.title.textContent = `${MODE_NAMES[modeOf(job.plan)]} · ${job.plan.seconds.toFixed(2)} s${job.prompt ? ` · ${job.prompt}` : ''}`;
      const percent = job.phase === 'placed' || job.phase === 'placing' ? 100 : job.progress ? Math.round((100 * job.progress.step) / job.progress.total) : 0;
      row.bar.setAttribute('value', String(percent));
      show(row.bar, job.phase === 'queued' || job.phase === 'running' || job.phase === 'placing');
      row.status.textContent = jobStatus(job);
      row.seedText.textContent = jobSeedText(job);
      show(row.seedLine, job.seed !== null);
      row.modelLine.textContent = jobModelText(job);
      // The list is redrawn only when the job's warnings change (each change is a new array).
      if (row.shownWarnings !== job.warnings) {
        while (row.warnings.firstChild) row.warnings.removeChild(row.warnings.firstChild);
        for (const warning of job.warnings) add(row.warnings, el(doc, 'li', { class: 'job-warning', 'data-code': warning.code }, warning.message));
        row.shownWarnings = job.warnings;
      }
      show(row.warnings, job.warnings.length > 0);
      // The live estimate while sampling, the poster frame once the clip is done.
      const picture = jobPicture(job);
      if (picture && row.preview.getAttribute('src') !== picture) row.preview.src = picture;
      show(row.preview, picture !== null);
      show(row.cancel, job.phase === 'queued' || job.phase === 'running');
      show(row.retry, job.phase === 'failed' || job.phase === 'cancelled');
      show(row.place, job.phase === 'ready');
      show(row.reveal, job.filePath !== null);
    });
    for (const [id, row] of rows) {
      if (seen.has(id)) continue;
      list.removeChild(row.li);
      rows.delete(id);
    }
  }

  return controller.store.subscribe(render);
}
