/**
 * Content Credentials on real clips: the CLI and a daemon generate through the real pipeline (tiny model, ffmpeg),
 * and c2pa-rs (c2pa-wasm, the reference implementation) reads each clip back, validates its signature against the
 * install's certificate, checks the assertions, and fails a clip with one altered byte of video.
 */
import { execFile, execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { LONGSHOT_VERSION, PROJECT_ROOT } from '../daemon/config';
import { GENERATION_ASSERTION, readContentCredentials, type ManifestStoreReport } from '../daemon/media/content-credentials';
import { encodeClip } from '../daemon/media/encode';
import { resolveFfmpeg } from '../daemon/media/ffmpeg-path';
import { loadSigningIdentity, SIGNING_DIR } from '../daemon/media/signing-identity';
import { TRAINED_ALGORITHMIC_MEDIA, type Provenance } from '../daemon/media/xmp';
import { api, startTestDaemon, tempDir, TEST_MODEL, TEST_MODELS_DIR, waitForJob } from './support/daemon-harness';

const run = promisify(execFile);
const CLI = path.join(PROJECT_ROOT, 'bin', 'longshot.cjs');
const MODEL_VERSION = JSON.parse(fs.readFileSync(path.join(TEST_MODELS_DIR, TEST_MODEL, 'model.json'), 'utf8')).version as string;

function activeManifest(report: ManifestStoreReport) {
  return report.manifests[report.active_manifest!]!;
}
const assertion = (report: ManifestStoreReport, label: string) => activeManifest(report).assertions!.find((a) => a.label === label)?.data;
const failureCodes = (report: ManifestStoreReport) => report.validation_results!.activeManifest!.failure.map((f) => f.code);

/** A copy of `file` with one byte in the middle of its `mdat` (the coded video) flipped. */
function withAlteredVideoByte(file: string): string {
  const bytes = fs.readFileSync(file);
  for (let at = 0; at + 8 <= bytes.length; at += bytes.readUInt32BE(at)) {
    if (bytes.toString('latin1', at + 4, at + 8) === 'mdat') {
      bytes[at + Math.floor(bytes.readUInt32BE(at) / 2)]! ^= 0x01;
      const altered = file.replace(/(\.\w+)$/, '-altered$1');
      fs.writeFileSync(altered, bytes);
      return altered;
    }
  }
  throw new Error(`no mdat box in ${file}`);
}

describe('Content Credentials (C2PA) on generated clips', () => {
  const dir = tempDir();
  const dataDir = path.join(dir, 'data');
  const generate = (args: string[]) => run(process.execPath, [CLI, 'generate', ...args, '--data-dir', dataDir, '--models-dir', TEST_MODELS_DIR, '--default-model', TEST_MODEL, '--threads', '1']);
  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  test('an MP4 from longshot generate is signed by the install: trusted with its certificate, every assertion there', async () => {
    const out = path.join(dir, 'broll.mp4');
    await generate(['a red circle bounces', '--seconds', '1', '--fps', '12', '--steps', '2', '--seed', '4294967295', '-o', out]);
    const signingDir = path.join(dataDir, SIGNING_DIR);
    expect(fs.statSync(signingDir).mode & 0o777).toBe(0o700);
    for (const file of ['key.pem', 'cert.pem']) expect(fs.statSync(path.join(signingDir, file)).mode & 0o777).toBe(0o600);
    const certificate = fs.readFileSync(path.join(signingDir, 'cert.pem'), 'utf8');

    const report = await readContentCredentials(out, certificate);
    expect(report.validation_state).toBe('Trusted');
    expect(failureCodes(report)).toEqual([]);
    expect(report.validation_results!.activeManifest!.success.map((s) => s.code)).toEqual(expect.arrayContaining(['claimSignature.validated', 'signingCredential.trusted', 'assertion.bmffHash.match']));
    const manifest = activeManifest(report);
    expect(manifest.claim_generator_info![0]).toMatchObject({ name: 'longshot', version: LONGSHOT_VERSION });
    expect(manifest.signature_info).toMatchObject({ alg: 'Es256', common_name: 'Longshot on this computer' });
    expect(assertion(report, 'c2pa.actions.v2').actions).toEqual([
      expect.objectContaining({ action: 'c2pa.created', digitalSourceType: TRAINED_ALGORITHMIC_MEDIA, softwareAgent: { name: 'longshot', version: LONGSHOT_VERSION } }),
    ]);
    expect(assertion(report, GENERATION_ASSERTION)).toEqual({
      prompt: 'a red circle bounces', seed: 4294967295, model: TEST_MODEL, modelVersion: MODEL_VERSION, steps: 2, guidance: expect.any(Number), sampler: expect.any(String), mode: 'broll', sources: [],
    });

    // Signed means intact, not trusted: without the install's certificate as an anchor only the trust is missing.
    const untrusted = await readContentCredentials(out);
    expect([untrusted.validation_state, failureCodes(untrusted)]).toEqual(['Valid', ['signingCredential.untrusted']]);

    const altered = await readContentCredentials(withAlteredVideoByte(out), certificate);
    expect(altered.validation_state).toBe('Invalid');
    expect(failureCodes(altered)).toContain('assertion.bmffHash.mismatch');

    // The XMP is still read by exiftool, and every frame still decodes.
    const [xmp] = JSON.parse(execFileSync('/usr/bin/exiftool', ['-j', '-G1', '-XMP:all', out]).toString());
    expect(xmp).toMatchObject({ 'XMP-iptcExt:DigitalSourceType': TRAINED_ALGORITHMIC_MEDIA, 'XMP-longshot:Seed': 4294967295, 'XMP-longshot:Mode': 'broll' });
    const ffmpeg = (await resolveFfmpeg(null)).path;
    const { stderr } = await run(ffmpeg, ['-xerror', '-i', out, '-f', 'null', '-']);
    expect(Number([...stderr.matchAll(/frame=\s*(\d+)/g)].pop()![1])).toBe(12);
  });

  test('a ProRes MOV that extends the MP4 names it as an ingredient, with the same key; one altered byte fails it', async () => {
    const source = path.join(dir, 'broll.mp4');
    const out = path.join(dir, 'extend.mov');
    const certificateBefore = fs.readFileSync(path.join(dataDir, SIGNING_DIR, 'cert.pem'), 'utf8');
    await generate(['a red circle bounces', '--extend', `${source}@0.5`, '--seconds', '1', '--fps', '12', '--steps', '2', '--seed', '3', '--codec', 'prores-422-hq', '-o', out]);
    const certificate = fs.readFileSync(path.join(dataDir, SIGNING_DIR, 'cert.pem'), 'utf8');
    expect(certificate).toBe(certificateBefore);

    const report = await readContentCredentials(out, certificate);
    expect([report.validation_state, failureCodes(report)]).toEqual(['Trusted', []]);
    expect(assertion(report, GENERATION_ASSERTION)).toMatchObject({ mode: 'extend', seed: 3, sources: [source] });
    expect(activeManifest(report).ingredients).toEqual([expect.objectContaining({ title: 'broll.mp4', format: 'video/mp4', relationship: 'inputTo' })]);
    const [xmp] = JSON.parse(execFileSync('/usr/bin/exiftool', ['-j', '-G1', '-XMP:all', out]).toString());
    expect(xmp).toMatchObject({ 'XMP-longshot:Mode': 'extend', 'XMP-longshot:Sources': source });

    const altered = await readContentCredentials(withAlteredVideoByte(out), certificate);
    expect(altered.validation_state).toBe('Invalid');
    expect(failureCodes(altered)).toContain('assertion.bmffHash.mismatch');
  });

  test('a clip whose signing fails is not kept, and a good clip already at the path stays', async () => {
    const ffmpeg = await resolveFfmpeg(null);
    const out = path.join(dir, 'kept.mp4');
    const frames = Array.from({ length: 6 }, (_, i) => new Uint8Array(32 * 18 * 3).fill(40 * i));
    const provenance: Provenance = { prompt: 'p', seed: 1, model: 'm', modelVersion: '1', steps: 2, guidance: 3, sampler: 'ddim', mode: 'broll', sources: [], creatorTool: 'longshot test' };
    const options = { width: 32, height: 18, fps: 24, outWidth: 64, outHeight: 36, format: 'mp4' as const, outputPath: out, metadata: {}, provenance };
    const identity = loadSigningIdentity(path.join(dir, 'encode-data'));
    const generator = { name: 'longshot', version: LONGSHOT_VERSION };
    await encodeClip(ffmpeg, frames, { ...options, credentials: { identity, generator } });
    const good = fs.readFileSync(out);
    // An Ed25519 key cannot make the ES256 signature the manifest declares, so signing fails inside the worker.
    const broken = { ...identity, privateKey: generateKeyPairSync('ed25519').privateKey };
    await expect(encodeClip(ffmpeg, frames, { ...options, credentials: { identity: broken, generator } })).rejects.toMatchObject({ code: 'internal', message: expect.stringMatching(/^signing kept\.mp4 with Content Credentials failed/) });
    expect(fs.readFileSync(out).equals(good)).toBe(true);
    expect(fs.readdirSync(dir).filter((n) => n.includes('.longshot-tmp-'))).toEqual([]);
  });

  test('a daemon job is signed with the daemon install\'s certificate', async () => {
    const daemon = await startTestDaemon();
    try {
      const submitted = (await api(daemon, 'POST', '/v1/jobs', { prompt: 'a blue square falls', seconds: 0.5, fps: 24, steps: 2, seed: 7 })).json() as { id: string };
      const job = await waitForJob(daemon, submitted.id);
      expect(job.state).toBe('done');
      const certificate = fs.readFileSync(path.join(daemon.dataDir, SIGNING_DIR, 'cert.pem'), 'utf8');
      const report = await readContentCredentials(job.output, certificate);
      expect([report.validation_state, failureCodes(report)]).toEqual(['Trusted', []]);
      expect(assertion(report, GENERATION_ASSERTION)).toMatchObject({ prompt: 'a blue square falls', seed: 7, mode: 'broll' });
    } finally {
      await daemon.close();
      fs.rmSync(daemon.dataDir, { recursive: true, force: true });
    }
  });
});
