import { COLLECTORS } from './collectors/index.js';
import { Daemon } from './daemon.js';
import { createLogger } from './logger.js';
import type { RuntimeConfig } from './runtime-config.js';
import { exitOnStopSignals } from './stop-signals.js';
import { agentVersion } from './version.js';

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

  exitOnStopSignals(logger, () => reloading.then(() => daemon.stop()));
}
