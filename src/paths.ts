import { fileURLToPath } from 'node:url';

/** The repository root: where prisma.config.ts and prisma/ live. */
export const projectRoot = fileURLToPath(new URL('..', import.meta.url));
