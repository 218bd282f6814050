// `npm run prisma -- <args>`: the Prisma CLI with the project's engine settings.
import { runPrismaCli } from '../src/db/migrate.ts';

process.exitCode = await runPrismaCli(process.argv.slice(2));
