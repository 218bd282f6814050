// `npm run schema`: writes the sorted SDL printed from the Pothos builder.
import { writeFile } from 'node:fs/promises';
import { printSortedSchema } from '../src/graphql/schema.ts';

const target = new URL('../schema/schema.graphql', import.meta.url);
await writeFile(target, printSortedSchema());
console.log(`wrote ${target.pathname}`);
