import { createLogger } from '../logger.js';
import { agentVersion } from '../version.js';
import type { Config } from '../config/load.js';
import { exitOnStopSignals } from '../stop-signals.js';
import { FleetCollector, type FleetRuntime } from './service.js';

/** `harbinger collector`: the central collector in the foreground, with its signals. */
export async function runCollector(config: Config, runtime: FleetRuntime): Promise<void> {
  const logger = createLogger(config.log.level);
  const collector = new FleetCollector(runtime, { logger, version: agentVersion() });
  // Stop signals while starting wait for the start to settle, then stop cleanly (see run.ts).
  const starting = collector.start();
  exitOnStopSignals(logger, () =>
    starting.catch(() => undefined).then(() => collector.stop()),
  );
  try {
    await starting;
  } catch (err) {
    logger.fatal({ err }, 'cannot start the collector');
    await collector.stop();
    process.exit(1);
  }

  // Without a handler SIGHUP would end the process; a reload is a restart here (nothing is lost).
  process.on('SIGHUP', () => logger.warn('SIGHUP: the collector does not reload its configuration; restart it to apply changes (no message is lost)'));
}
