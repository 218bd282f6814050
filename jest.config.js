/** Jest in ESM mode: pg-boss 12 and the generated Prisma client are ESM-only. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.(t|j)sx?$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2023' }, module: { type: 'es6' } }],
  },
  // graphql-tag (inside Apollo Client) has no "exports": take its ES module, not its UMD build.
  moduleNameMapper: { '^graphql-tag$': '<rootDir>/node_modules/graphql-tag/lib/index.js' },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
};
