import fs from 'node:fs';
import path from 'node:path';
import { PROJECT_ROOT } from '../daemon/config';

/** Every TypeScript source (not test) file under a folder, with its import specifiers. */
function sources(folder: string): { file: string; text: string; imports: string[] }[] {
  const root = path.join(PROJECT_ROOT, folder);
  if (!fs.existsSync(root)) return [];
  const out: { file: string; text: string; imports: string[] }[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) {
        if (!['node_modules', 'dist'].includes(entry.name)) walk(full);
      } else if (/\.ts$/.test(entry.name) && !/\.(test|e2e\.test)\.ts$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        const text = fs.readFileSync(full, 'utf8');
        const imports = [...text.matchAll(/(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]|require\(['"]([^'"]+)['"]\)|import\(['"]([^'"]+)['"]\)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
        out.push({ file: path.relative(PROJECT_ROOT, full), text, imports });
      }
    }
  };
  walk(root);
  return out;
}

/** Import targets as project-relative folders (for relative imports) or package names. */
function targets(file: string, imports: string[]): string[] {
  return imports.map((spec) => (spec.startsWith('.') ? path.relative(PROJECT_ROOT, path.resolve(PROJECT_ROOT, path.dirname(file), spec)) : spec));
}

// STYLE.md's folder map: what each folder must not import.
const FORBIDDEN: [string, RegExp, string][] = [
  ['shared', /^(node:|daemon\/|plugin\/|express|ws$|onnxruntime|better-sqlite3)/, 'shared/ holds wire types only'],
  ['daemon/server', /^(onnxruntime-node|better-sqlite3|daemon\/(engine|generation|media|start-daemon))/, 'server/ is only the HTTP/WebSocket edge; the composition root is daemon/start-daemon.ts'],
  ['daemon/jobs', /^(express|ws$|onnxruntime-node|daemon\/server)/, 'jobs/ must not import express, ws or onnxruntime'],
  ['daemon/engine', /^(better-sqlite3|express|ws$|daemon\/(server|jobs|media))/, 'engine/ must not touch SQLite, HTTP or ffmpeg'],
  ['daemon/media', /^(shared\/protocol|daemon\/(server|jobs|engine)|onnxruntime-node)/, 'media/ must not know protocol or job types'],
  ['plugin/host', /^(plugin\/(net|state|ui)|ws$|shared\/protocol$)/, 'host/ must not know the daemon exists: no request or message shapes (state/job-request.ts builds the request from a plan)'],
  ['plugin/net', /^(premierepro|plugin\/(host|state|ui))/, 'net/ must not touch Premiere or the DOM layers'],
  ['plugin/state', /^(plugin\/ui)/, 'state/ must not render'],
  ['plugin/ui', /^(premierepro|plugin\/(net|host))/, 'ui/ must not call net/ or host/'],
];

/** The modules a Python file imports, as absolute dotted names: `from ..shapesworld.grammar import x` in
 * models/core/a.py is models.shapesworld.grammar; `from .. import shapesworld` is models.shapesworld. */
function pythonImports(file: string, text: string): string[] {
  const pkg = path.dirname(file).split(path.sep).filter(Boolean);   // models/core/a.py → ['models', 'core']
  const absolute = (dots: string, rest: string): string => {
    const base = pkg.slice(0, pkg.length - (dots.length - 1));
    return [...base, ...(rest ? rest.split('.') : [])].join('.');
  };
  const out: string[] = [];
  for (const m of text.matchAll(/^[ \t]*from[ \t]+(\.*)([\w.]*)[ \t]+import[ \t]+(?:\(([^)]*)\)|([^\n#]*))/gm)) {
    const [, dots, module, wrapped, line] = m;
    if (!dots) out.push(module!);
    else if (module) out.push(absolute(dots, module));
    else out.push(...(wrapped ?? line)!.split(',').map((n) => n.trim().split(/\s+/)[0]!).filter(Boolean).map((n) => absolute(dots, n)));
  }
  for (const m of text.matchAll(/^[ \t]*import[ \t]+([\w., \t]+)$/gm)) out.push(...m[1]!.split(',').map((n) => n.trim().split(/\s+/)[0]!));
  return out;
}

/** Every Python file (tests included) under a folder of models/. */
function pythonSources(folder: string): { file: string; imports: string[] }[] {
  const root = path.join(PROJECT_ROOT, folder);
  const out: { file: string; imports: string[] }[] = [];
  const walk = (dir: string) => {
    for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) walk(full);
      else if (entry.name.endsWith('.py')) {
        const file = path.relative(PROJECT_ROOT, full);
        out.push({ file, imports: pythonImports(file, fs.readFileSync(full, 'utf8')) });
      }
    }
  };
  walk(root);
  return out;
}

// The world packages beside the library; a new world is another folder like these, and joins this list.
const WORLDS = /^models\.(shapesworld|footage)(\.|$)/;

describe('architecture (models/: the library never imports a world)', () => {
  test('the Python import scanner resolves absolute, relative and package imports (so the rule below can fail)', () => {
    const file = path.join('models', 'core', 'a.py');
    expect(pythonImports(file, 'from ..shapesworld.grammar import VOCABULARY\n')).toEqual(['models.shapesworld.grammar']);
    expect(pythonImports(file, 'from .. import footage, shapesworld as world\n')).toEqual(['models.footage', 'models.shapesworld']);
    expect(pythonImports(file, 'from .schedule import (\n    T_MAX,\n)\nimport torch, numpy as np\n')).toEqual(['models.core.schedule', 'torch', 'numpy']);
    expect(pythonImports(file, '    from models.shapesworld.world import render  # noqa: E402\n')).toEqual(['models.shapesworld.world']);
    const exporter = pythonSources(path.join('models', 'shapesworld')).find((s) => s.file.endsWith('export.py'))!;
    expect(exporter.imports).toEqual(expect.arrayContaining(['models.core.checkpoints', 'models.shapesworld.checkpoints']));
  });

  test('models/core imports no world package (models.shapesworld, models.footage)', () => {
    const core = pythonSources(path.join('models', 'core'));
    expect(core.length).toBeGreaterThan(5);
    const offenders = core.flatMap((s) => s.imports.filter((i) => WORLDS.test(i)).map((i) => `${s.file} → ${i}`));
    expect(offenders).toEqual([]);
  });
});

describe('architecture (STYLE.md folder map)', () => {
  test('the import scanner sees imports (so the rules below can fail)', () => {
    const app = sources('daemon/server').find((s) => s.file.endsWith('http-app.ts'))!;
    expect(targets(app.file, app.imports)).toEqual(expect.arrayContaining(['express', path.join('shared', 'errors'), path.join('daemon', 'jobs', 'job-queue')]));
  });

  test.each(FORBIDDEN)('%s imports nothing matching %s (%s)', (folder, pattern) => {
    const offenders = sources(folder).flatMap((s) => targets(s.file, s.imports).filter((t) => pattern.test(t)).map((t) => `${s.file} → ${t}`));
    expect(offenders).toEqual([]);
  });

  test('only daemon/config.ts reads process.env', () => {
    const readers = [...sources('daemon'), ...sources('shared')].filter((s) => /process\.env\b/.test(s.text) && s.file !== path.join('daemon', 'config.ts'));
    expect(readers.map((s) => s.file)).toEqual([]);
  });

  test('no console.log in daemon/', () => {
    expect(sources('daemon').filter((s) => /console\.(log|info|debug)\(/.test(s.text)).map((s) => s.file)).toEqual([]);
  });
});
