import { LongshotError } from '../../shared/errors';
import type { HostCompoundAction, HostProject } from './premiere-api';

/**
 * Makes one undoable change: `fn` adds actions, Premiere commits them as one step named `undoLabel` (one Ctrl+Z
 * removes it all). Runs under lockedAccess so the project cannot change between reading and committing.
 * Throws `conflict` when Premiere refuses the transaction (for example, an edit on a locked track).
 */
export function inTransaction(project: HostProject, undoLabel: string, fn: (actions: HostCompoundAction) => void): void {
  let committed = false;
  project.lockedAccess(() => {
    committed = project.executeTransaction(fn, undoLabel);
  });
  if (!committed) throw new LongshotError('conflict', `Premiere refused "${undoLabel}": is the target track locked?`);
}
