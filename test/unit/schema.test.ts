import { readFile } from 'node:fs/promises';
import { expect, it } from '@jest/globals';
import { printSortedSchema } from '../../src/graphql/schema.ts';

it('schema/schema.graphql is the sorted SDL printed from the builder (run `npm run schema`)', async () => {
  const committed = await readFile(new URL('../../schema/schema.graphql', import.meta.url), 'utf8');
  expect(committed).toBe(printSortedSchema());
});

it('has the fields a UI cache expects: Job.error and removeJob returning DeletedJob', () => {
  const sdl = printSortedSchema();
  expect(sdl).toMatch(/type Job \{[^}]*\n {2}error: JSON\n/);
  expect(sdl).toMatch(/type DeletedJob \{\n {2}id: ID!\n {2}queue: String!\n\}/);
  expect(sdl).toMatch(/\n {2}removeJob\(id: ID!, queue: String!\): DeletedJob!\n/);
  expect(sdl).toMatch(/\n {2}deleteJob\(id: ID!, queue: String!\): Boolean!\n/);
});
