import { defineConfig, env } from 'prisma/config';
import { MigrationAdapter } from './src/db/migration-adapter.ts';

export default defineConfig({
  schema: 'prisma/schema.prisma',
  migrations: { path: 'prisma/migrations' },
  engine: 'js',
  experimental: { adapter: true },
  adapter: async () => new MigrationAdapter(env('DATABASE_URL')),
});
