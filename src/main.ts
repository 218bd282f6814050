import { buildApp } from './app.ts';
import { loadConfig } from './config.ts';
import { createLogger } from './logger.ts';

const config = loadConfig();
const logger = createLogger(config.logLevel);
const app = buildApp(config, logger);

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  // The graceful stop below owns these signals: a library's handler that exits on
  // the next tick would cut it short (sockets not drained, held jobs not failed
  // back, exit code 143). The app stops its embedded PostgreSQL itself.
  process.removeAllListeners(signal);
  process.once(signal, () => {
    logger.info({ signal }, 'stopping');
    app.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error({ err: error }, 'unclean stop');
        process.exit(1);
      },
    );
  });
}

try {
  await app.start();
} catch (error) {
  logger.fatal({ err: error }, 'jobgate failed to start');
  await app.stop().catch(() => {});
  process.exit(1);
}
