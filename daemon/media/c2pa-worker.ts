// The worker thread behind content-credentials.ts, bundled to dist/c2pa-worker.mjs: c2pa-wasm (c2pa-rs built for
// the web) is an ES module, and its builder reads the asset through FileReaderSync, a browser-worker API that this
// file stands in for. A worker keeps that stand-in, the WebAssembly memory and the hashing off the daemon's thread;
// it runs one job from workerData, posts one reply and exits.
import { createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import { parentPort, workerData } from 'node:worker_threads';
import { initSync, WasmBuilder, WasmReader } from '@contentauth/c2pa-wasm';
import { coseSign1 } from './cose-sign1';
import type { C2paWorkerJob, C2paWorkerReply } from './content-credentials';

/** The slice of `Blob` c2pa-wasm uses (size, slice), over bytes in memory that FileReaderSync below can read at once. */
class BytesBlob {
  readonly type = '';
  constructor(readonly bytes: Uint8Array) {}
  get size(): number {
    return this.bytes.length;
  }
  slice(start = 0, end = this.bytes.length): BytesBlob {
    return new BytesBlob(this.bytes.subarray(start, end));
  }
}

class BytesReaderSync {
  readAsArrayBuffer(blob: BytesBlob): ArrayBuffer {
    return new Uint8Array(blob.bytes).buffer;
  }
}

async function run(job: C2paWorkerJob): Promise<C2paWorkerReply> {
  initSync({ module: fs.readFileSync(job.wasmPath) });
  const asset = fs.readFileSync(job.file);
  if (job.op === 'read') {
    const context = job.trustedCertificatePem ? JSON.stringify({ trust: { user_anchors: job.trustedCertificatePem } }) : null;
    const reader = await WasmReader.fromBytes(job.mimeType, asset, context);
    return { ok: true, json: reader.json() };
  }
  (globalThis as { FileReaderSync?: unknown }).FileReaderSync = BytesReaderSync;
  const signer = { privateKey: createPrivateKey(job.privateKeyPem), certificateDer: job.certificateDer };
  const builder = WasmBuilder.fromJson(JSON.stringify(job.manifest));
  const signed = await builder.sign(
    { alg: 'es256', reserveSize: job.reserveSize, sign: async (claim: Uint8Array) => new Uint8Array(coseSign1(claim, signer, job.reserveSize)) },
    [],
    job.mimeType,
    new BytesBlob(asset) as unknown as Blob,
  );
  fs.writeFileSync(job.file, signed);
  return { ok: true, json: null };
}

run(workerData as C2paWorkerJob).then(
  (reply) => parentPort!.postMessage(reply),
  (err: unknown) => parentPort!.postMessage({ ok: false, message: err instanceof Error ? err.message : String(err), code: (err as NodeJS.ErrnoException).code } satisfies C2paWorkerReply),
);
