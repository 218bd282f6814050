import { readFile } from 'node:fs/promises';
import { expect, it } from '@jest/globals';
import { printSortedSchema } from '../../src/graphql/schema.ts';

it('schema/schema.graphql is the sorted SDL printed from the builder (run `npm run schema`)', async () => {
  const committed = await readFile(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
  expect(committed).toBe(printSortedSchema());
});
