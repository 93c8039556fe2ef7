import { COLLECTORS } from './collectors/index.js';
import { Daemon } from './daemon.js';
import { createLogger } from './logger.js';
import type { RuntimeConfig } from './runtime-config.js';
import { agentVersion } from './version.js';

/** SIGTERM/SIGINT must end the process within systemd's patience; this leaves a margin under 5 s. */
const STOP_DEADLINE_MS = 4000;

/** `harbinger run`: the daemon in the foreground, with its signals. */
export async function runDaemon(initial: RuntimeConfig, reloadConfig: () => Promise<RuntimeConfig>): Promise<void> {
  const logger = createLogger(initial.config.log.level);
  const daemon = new Daemon(initial, { collectors: COLLECTORS, logger, version: agentVersion(), reloadConfig });
  try {
    await daemon.start();
  } catch (err) {
    logger.fatal({ err }, 'cannot start');
    await daemon.stop();
    process.exit(1);
  }

  let reloading = Promise.resolve<unknown>(undefined);
  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading the configuration');
    reloading = reloading.then(() => daemon.reload());
  });

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    setTimeout(() => {
      logger.warn('shutdown took too long; exiting anyway');
      process.exit(0);
    }, STOP_DEADLINE_MS).unref();
    void reloading
      .then(() => daemon.stop())
      .then(() => {
        logger.info('stopped');
        process.exit(0);
      });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
