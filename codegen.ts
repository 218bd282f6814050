import type { CodegenConfig } from '@graphql-codegen/cli';

const typedDocuments = {
  preset: 'client',
  presetConfig: { fragmentMasking: false },
  config: {
    importExtension: '.ts',
    useTypeImports: true,
    enumsAsTypes: true,
    scalars: { DateTime: 'string', JSON: 'unknown' },
  },
} as const;

// Typed documents from the Pothos schema module itself: one output for the
// worker SDK and the tests, one for the dashboard (both git-ignored).
const config: CodegenConfig = {
  schema: './src/graphql/schema.ts',
  ignoreNoDocuments: true,
  generates: {
    './src/generated/graphql/': {
      ...typedDocuments,
      documents: ['src/client/**/*.ts', 'test/**/*.ts', '!src/generated/**'],
    },
    './dashboard/src/generated/': {
      ...typedDocuments,
      documents: ['dashboard/src/**/*.tsx', '!dashboard/src/generated/**'],
    },
  },
};

export default config;
