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
  // The stop signals are ours from the first moment: a SIGTERM while starting (systemd giving up,
  // Ctrl-C) waits for the start to settle and then stops cleanly, rather than killing the process.
  const starting = daemon.start();
  let reloading = Promise.resolve<unknown>(undefined);
  exitOnStopSignals(logger, () =>
    starting
      .catch(() => undefined)
      .then(() => reloading)
      .then(() => daemon.stop()),
  );
  try {
    await starting;
  } catch (err) {
    logger.fatal({ err }, 'cannot start');
    await daemon.stop();
    process.exit(1);
  }

  process.on('SIGHUP', () => {
    logger.info('SIGHUP: reloading the configuration');
    reloading = reloading.then(() => daemon.reload());
  });
}
