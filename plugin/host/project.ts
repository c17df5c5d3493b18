/** Premiere area: the project, its bins and importing media. */
import { LongshotError } from '../../shared/errors';
import type { HostClipProjectItem, HostFolderItem, HostProject, PremiereApi } from './premiere-api';
import { inTransaction } from './transaction';

/** The bin every generated clip is imported into. */
export const LONGSHOT_BIN = 'Longshot';

/** The open project, or a message saying to open one. */
export async function activeProject(ppro: PremiereApi): Promise<HostProject> {
  const project = await ppro.Project.getActiveProject();
  if (!project) throw new LongshotError('not_found', 'no project is open: open or create a project in Premiere');
  return project;
}

async function findBin(ppro: PremiereApi, root: HostFolderItem, name: string): Promise<HostFolderItem | null> {
  const item = (await root.getItems()).find((i) => i.type === ppro.ProjectItem.TYPE_BIN && i.name === name);
  return item ? ppro.FolderItem.cast(item) : null;
}

/** The project's `Longshot` bin, created at the root the first time. */
export async function longshotBin(ppro: PremiereApi, project: HostProject): Promise<HostFolderItem> {
  const root = await project.getRootItem();
  const existing = await findBin(ppro, root, LONGSHOT_BIN);
  if (existing) return existing;
  inTransaction(project, `Longshot: create bin "${LONGSHOT_BIN}"`, (actions) => actions.addAction(root.createBinAction(LONGSHOT_BIN, false)));
  const created = await findBin(ppro, root, LONGSHOT_BIN);
  if (!created) throw new LongshotError('internal', `Premiere did not create the "${LONGSHOT_BIN}" bin`);
  return created;
}

/** Whether two paths name the same file as Premiere and UXP spell them (separators; case on Windows drives). */
export function sameMediaPath(a: string, b: string): boolean {
  const norm = (p: string) => {
    const slashes = p.replace(/\\/g, '/');
    return /^[a-zA-Z]:\//.test(slashes) ? slashes.toLowerCase() : slashes;
  };
  return norm(a) === norm(b);
}

/** Imports a file into the `Longshot` bin (or finds it there if it already was) and returns its project item. */
export async function importIntoLongshotBin(ppro: PremiereApi, project: HostProject, filePath: string): Promise<HostClipProjectItem> {
  const bin = await longshotBin(ppro, project);
  const find = async () => {
    for (const item of await bin.getItems()) {
      if (item.type !== ppro.ProjectItem.TYPE_CLIP) continue;
      const clip = ppro.ClipProjectItem.cast(item);
      if (sameMediaPath(await clip.getMediaFilePath(), filePath)) return clip;
    }
    return null;
  };
  const already = await find();
  if (already) return already;
  const imported = await project.importFiles([filePath], true, bin, false);
  const clip = imported ? await find() : null;
  if (!clip) throw new LongshotError('media_unreadable', `Premiere could not import ${filePath}: check that the file exists and Premiere can read MP4`);
  return clip;
}
