import { execFile } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { PROJECT_ROOT } from '../daemon/config';

const run = promisify(execFile);
const pkg = JSON.parse(fs.readFileSync(path.join(PROJECT_ROOT, 'package.json'), 'utf8'));

/** npm as a user runs it in the project: no npm_config_* inherited from the test runner's own npm. */
async function npm(args: string[]) {
  const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)));
  return run('npm', args, { cwd: PROJECT_ROOT, env });
}

describe('install policy', () => {
  test('npm reads no unknown project config and every install script is approved or denied in allowScripts', async () => {
    const { stdout, stderr } = await npm(['approve-scripts', '--allow-scripts-pending']).catch((err) => {
      if (/Unknown command|approve-scripts/.test(String(err.stderr))) return { stdout: 'npm without allowScripts', stderr: '' };
      throw err;
    });
    expect(stderr).not.toMatch(/Unknown (project|user|env) config/);
    expect(stdout).not.toMatch(/not yet covered/);
  });

  test('onnxruntime-node never downloads CUDA binaries at install (CPU and WebGPU ship inside it)', () => {
    expect(pkg.allowScripts['onnxruntime-node']).toBe(false);
    expect(fs.existsSync(path.join(PROJECT_ROOT, '.npmrc')) ? fs.readFileSync(path.join(PROJECT_ROOT, '.npmrc'), 'utf8') : '').not.toMatch(/onnxruntime/);
  });

  test('engines name the LTS lines README promises', () => {
    expect(pkg.engines.node).toBe('^20.19.0 || ^22.12.0 || >=24.0.0');
    expect(fs.readFileSync(path.join(PROJECT_ROOT, 'README.md'), 'utf8')).toMatch(/Node 22 or 24/);
  });
});
