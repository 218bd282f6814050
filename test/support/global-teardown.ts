import { dropDatabase } from './database.ts';

export default async function globalTeardown(): Promise<void> {
  const name = process.env.JOBGATE_TEST_DATABASE;
  if (name && !process.env.JOBGATE_KEEP_TEST_DATABASE) await dropDatabase(name);
}
