// Run from the repository root: tools/lint/node_modules/.bin/eslint -c tools/lint/eslint.config.js
import js from '@eslint/js';
import { importX } from 'eslint-plugin-import-x';
import tseslint from 'typescript-eslint';

const root = new URL('../..', import.meta.url).pathname;

export default tseslint.config(
  {
    basePath: root,
    ignores: [
      '**/node_modules/**',
      '**/generated/**',
      'dashboard/dist/**',
      'packages/client/dist/**',
      'tools/**',
      'bench/results/**',
      '.jobgate/**',
      'test/artifacts/**',
    ],
  },
  {
    basePath: root,
    files: ['**/*.ts', '**/*.tsx'],
    extends: [js.configs.recommended, ...tseslint.configs.recommendedTypeChecked],
    plugins: { 'import-x': importX },
    languageOptions: {
      parserOptions: {
        projectService: true,
        tsconfigRootDir: root,
      },
    },
    rules: {
      '@typescript-eslint/no-floating-promises': 'error',
      '@typescript-eslint/no-misused-promises': 'error',
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      'import-x/order': ['error', { groups: ['builtin', 'external', 'parent', 'sibling', 'index'], alphabetize: { order: 'asc', caseInsensitive: true } }],
      // pg-boss and graphql-ws take async callbacks whether or not they await anything.
      '@typescript-eslint/require-await': 'off',
      // A rejection passes on what was caught, whatever it is.
      '@typescript-eslint/prefer-promise-reject-errors': ['error', { allowThrowingUnknown: true }],
      // Envelop's and Yoga's hooks hand over callbacks to destructure (`{ setResult }`): not methods that need `this`.
      '@typescript-eslint/unbound-method': 'off',
      // A leading underscore names what is left out on purpose (a destructured field, a parameter).
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', ignoreRestSiblings: true }],
    },
  },
  {
    // Tests and benchmarks read JSON answers as they come: their `any` is the point, their promises are not.
    basePath: root,
    files: ['test/**/*.ts', 'bench/**/*.ts', 'examples/**/*.ts'],
    rules: {
      '@typescript-eslint/no-unsafe-member-access': 'off',
      '@typescript-eslint/no-unsafe-assignment': 'off',
      '@typescript-eslint/no-unsafe-argument': 'off',
      '@typescript-eslint/no-unsafe-call': 'off',
      '@typescript-eslint/no-unsafe-return': 'off',
      '@typescript-eslint/no-explicit-any': 'off',
      // WebSocket frames arrive as buffers, printed as they are; graphql-ws's dispose may or may not return a promise.
      '@typescript-eslint/no-base-to-string': 'off',
      '@typescript-eslint/await-thenable': 'off',
      'preserve-caught-error': 'off',
    },
  },
);
