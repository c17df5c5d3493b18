/** Tests sit beside their code (`*.test.ts`); end-to-end ones live in test/. Type-checking is `npm run typecheck`, so
 * ts-jest only transpiles (tsconfig has isolatedModules) and the run stays fast on two cores. */
module.exports = {
  // Every suite may run the real onnxruntime, which needs Node's own typed-array classes in the test context.
  testEnvironment: './daemon/engine/testdata/ort-jest-environment.js',
  roots: ['<rootDir>/shared', '<rootDir>/daemon', '<rootDir>/plugin', '<rootDir>/test', '<rootDir>/scripts'],
  testMatch: ['**/*.test.ts'],
  testPathIgnorePatterns: ['/node_modules/', '/dist/'],
  transform: { '^.+\\.ts$': ['ts-jest', { tsconfig: 'tsconfig.json' }] },
  testTimeout: 120000,
  maxWorkers: 2,
};
