import fs from 'node:fs/promises';
import path from 'node:path';

/** A copy of the package at `from` in `dir`, with model.json edited by `edit` (its files keep their hashes). */
export async function copyPackageTo(dir: string, from: string, edit: (manifest: any) => void): Promise<string> {
  await fs.cp(from, dir, { recursive: true });
  const manifest = JSON.parse(await fs.readFile(path.join(dir, 'model.json'), 'utf8'));
  edit(manifest);
  await fs.writeFile(path.join(dir, 'model.json'), JSON.stringify(manifest, null, 1));
  return dir;
}
