import type { CodegenConfig } from '@graphql-codegen/cli';

// Typed documents for the worker SDK and the tests, from the Pothos schema module itself.
const config: CodegenConfig = {
  schema: './src/graphql/schema.ts',
  documents: ['src/client/**/*.ts', 'test/**/*.ts', '!src/generated/**'],
  ignoreNoDocuments: true,
  generates: {
    './src/generated/graphql/': {
      preset: 'client',
      presetConfig: { fragmentMasking: false },
      config: {
        importExtension: '.ts',
        useTypeImports: true,
        enumsAsTypes: true,
        scalars: { DateTime: 'string', JSON: 'unknown' },
      },
    },
  },
};

export default config;
