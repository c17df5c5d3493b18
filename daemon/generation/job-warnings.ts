import { FOOTAGE_DOMAIN, modelJobOf, type GenerateRequest, type JobWarning, type ModelJob, type ModelSummary } from '../../shared/protocol';
import type { ReadBack } from '../engine/read-back';

/**
 * The share of the reference frames' variation a package may miss when it draws them back before its job warns
 * `footage_unreadable` (ReadBack.unexplained, at the package's native size). Measured with shapesworld-uvit 0.9.0
 * (scripts/measure-read-back.ts, the 4 frames an extend reads at each clip's middle): 12 ShapesWorld renders 0.004–0.078
 * (the same re-encoded at 1280×720, CRF 30: 0.013–0.079); the 21 camera clips of ../shared/footage/clips 0.806–4.35
 * (median 3.45), its 22 photographs 0.467–6.45 (median 1.52). 0.25 sits three times above the renders and below
 * every real picture.
 */
export const READ_BACK_LIMIT = 0.25;

const JOB_NAMES: Record<ModelJob, string> = { broll: 'B-roll', extend: 'extend', fill: 'fill' };

/** What a request warns about once its model is known: a job the model does not serve, words it does not know, an empty B-roll prompt. */
export function requestWarnings(request: GenerateRequest, model: ModelSummary, unknownWords: string[]): JobWarning[] {
  const warnings: JobWarning[] = [];
  const job = modelJobOf(request.mode);
  if (!model.jobs.includes(job)) {
    const instead = job === 'broll' ? 'leave the model to Automatic (no `model`) for B-roll' : `choose a model whose jobs include ${job}, or leave the model to Automatic`;
    warnings.push({
      code: 'model_job_unsupported',
      message: `${model.name} (${model.domain}) serves ${model.jobs.map((j) => JOB_NAMES[j]).join(', ')}, not ${JOB_NAMES[job]}: its clip may not be what was asked; ${instead}`,
      field: 'model',
    });
  }
  if (unknownWords.length) {
    warnings.push({ code: 'prompt_words_unknown', message: `${model.name} does not know ${unknownWords.map((w) => `"${w}"`).join(', ')}; those words were ignored`, field: 'prompt' });
  }
  if (job === 'broll' && request.prompt.trim() === '') {
    warnings.push({ code: 'prompt_empty', message: `the prompt is empty: ${model.name} makes a random scene; describe the shot to choose it`, field: 'prompt' });
  }
  return warnings;
}

/** The warning of a reading the package cannot draw back (over {@link READ_BACK_LIMIT}), or null. */
export function readBackWarning(modelName: string, readBack: ReadBack): JobWarning | null {
  if (!(readBack.unexplained > READ_BACK_LIMIT)) return null;
  const missed = Math.min(100, Math.round(readBack.unexplained * 100));
  return {
    code: 'footage_unreadable',
    message:
      `${modelName} cannot read this footage: drawn back from its own reading, the reference frames miss ${missed} % of their detail ` +
      `(the limit is ${Math.round(READ_BACK_LIMIT * 100)} %), so the clip continues what the model read, not the footage; ` +
      `use a model whose domain is "${FOOTAGE_DOMAIN}"`,
    field: 'references',
  };
}
