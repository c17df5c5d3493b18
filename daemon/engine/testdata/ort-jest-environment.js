/**
 * Jest's node environment runs tests in a vm context whose typed-array classes differ from Node's own, but
 * onnxruntime-node's native binding returns its outputs as Node-realm typed arrays, which onnxruntime-common then
 * rejects ("A float32 tensor's data must be type of Float32Array"). This environment gives the test context
 * Node's own typed-array classes, so tests run the real onnxruntime unchanged. jest.config.js uses it for every
 * suite.
 */
const { TestEnvironment } = require('jest-environment-node');

const TYPED_ARRAYS = ['Int8Array', 'Uint8Array', 'Uint8ClampedArray', 'Int16Array', 'Uint16Array', 'Int32Array', 'Uint32Array', 'Float32Array', 'Float64Array', 'BigInt64Array', 'BigUint64Array', 'ArrayBuffer'];

class OrtEnvironment extends TestEnvironment {
  constructor(config, context) {
    super(config, context);
    for (const name of TYPED_ARRAYS) this.global[name] = globalThis[name];
  }
}

module.exports = OrtEnvironment;
