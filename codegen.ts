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

const clientDocuments = ['packages/client/src/**/*.ts', '!packages/client/src/generated/**'];

// Typed documents from the Pothos schema module itself (all git-ignored): the
// tests', the client package's and the dashboard's.
const config: CodegenConfig = {
  schema: './src/graphql/schema.ts',
  ignoreNoDocuments: true,
  generates: {
    './src/generated/graphql/': {
      ...typedDocuments,
      documents: ['test/**/*.ts', '!src/generated/**'],
    },
    // Plain strings, no graphql at run time.
    './packages/client/src/generated/documents/': {
      ...typedDocuments,
      config: { ...typedDocuments.config, documentMode: 'string' },
      documents: clientDocuments,
    },
    // The same operation types without the document class, which needs
    // @graphql-typed-document-node/core: the package's public types come from here.
    './packages/client/src/generated/types.ts': {
      plugins: ['typescript-operations'],
      config: { ...typedDocuments.config, ignoreEnumValuesFromSchema: true },
      documents: clientDocuments,
    },
    './dashboard/src/generated/': {
      ...typedDocuments,
      documents: ['dashboard/src/**/*.{ts,tsx}', '!dashboard/src/generated/**'],
    },
  },
};

export default config;
