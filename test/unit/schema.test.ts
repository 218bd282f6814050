import { readFile } from 'node:fs/promises';
import { expect, it } from '@jest/globals';
import { buildSchema, isInputObjectType, isObjectType, type GraphQLEnumType, type GraphQLObjectType } from 'graphql';
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

/** pg-boss's flows, topics, redrive, purges, edits, search and schedule previews. */
const PG_BOSS_OPERATIONS = {
  Query: ['topics', 'previewRedrive', 'findJobs', 'blockedKeys', 'previewSchedule'],
  Mutation: [
    'sendFlow',
    'subscribeQueue',
    'unsubscribeQueue',
    'publish',
    'redriveJobs',
    'deleteQueuedJobs',
    'deleteStoredJobs',
    'deleteAllJobs',
    'updateJob',
    'upsertJob',
  ],
} as const;
const PG_BOSS_TYPES = ['FlowJobInput', 'FlowJobRef', 'Topic', 'RedriveOptionsInput', 'RedrivePreview', 'RedriveDestination', 'JobEditInput', 'JobUpsert'];
const PG_BOSS_JOB_FIELDS = ['blocked', 'pendingDependencies', 'dependencies', 'dependents'];

it('has the pg-boss operations, and docs/api.md names each with its arguments, types and their fields', async () => {
  const schema = buildSchema(printSortedSchema());
  const api = await readFile(new URL('../../docs/api.md', import.meta.url), 'utf8');
  const named = (name: string) => new RegExp(`\\b${name}\\b`).test(api);
  const missing: string[] = [];
  for (const [root, fields] of Object.entries(PG_BOSS_OPERATIONS)) {
    const type = schema.getType(root) as GraphQLObjectType;
    for (const name of fields) {
      const field = type.getFields()[name];
      if (!field) missing.push(`SDL: ${root}.${name}`);
      else for (const argument of [name, ...field.args.map((arg) => arg.name)]) if (!named(argument)) missing.push(`docs/api.md: ${root}.${name}(${argument})`);
    }
  }
  for (const name of PG_BOSS_TYPES) {
    const type = schema.getType(name);
    if (!isObjectType(type) && !isInputObjectType(type)) missing.push(`SDL: ${name}`);
    else for (const field of [name, ...Object.keys(type.getFields())]) if (!named(field)) missing.push(`docs/api.md: ${name}.${field}`);
  }
  const job = (schema.getType('Job') as GraphQLObjectType).getFields();
  for (const name of PG_BOSS_JOB_FIELDS) if (!job[name] || !named(`Job.${name}`)) missing.push(`Job.${name}`);
  const events = (schema.getType('JobEventType') as GraphQLEnumType).getValues().map((value) => value.name);
  for (const name of ['READY', 'UPDATED']) if (!events.includes(name) || !named(name)) missing.push(`JobEventType.${name}`);
  expect(missing).toEqual([]);
});
