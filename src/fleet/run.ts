import { createLogger } from '../logger.js';
import { agentVersion } from '../version.js';
import type { Config } from '../config/load.js';
import { FleetCollector, type FleetRuntime } from './service.js';

/** SIGTERM/SIGINT end the process within systemd's patience; this leaves a margin under 5 s. */
const STOP_DEADLINE_MS = 4000;

/** `harbinger collector`: the central collector in the foreground, with its signals. */
export async function runCollector(config: Config, runtime: FleetRuntime): Promise<void> {
  const logger = createLogger(config.log.level);
  const collector = new FleetCollector(runtime, { logger, version: agentVersion() });
  try {
    await collector.start();
  } catch (err) {
    logger.fatal({ err }, 'cannot start the collector');
    await collector.stop();
    process.exit(1);
  }

  // Without a handler SIGHUP would end the process; a reload is a restart here (nothing is lost).
  process.on('SIGHUP', () => logger.warn('SIGHUP: the collector does not reload its configuration; restart it to apply changes (no message is lost)'));

  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    setTimeout(() => {
      logger.warn('shutdown took too long; exiting anyway');
      process.exit(0);
    }, STOP_DEADLINE_MS).unref();
    void collector.stop().then(() => {
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}
