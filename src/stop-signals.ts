import type { Logger } from './logger.js';

/** SIGTERM/SIGINT must end the process within systemd's patience; this leaves a margin under 5 s. */
const STOP_DEADLINE_MS = 4000;

/**
 * On SIGTERM or SIGINT: one log line, `stop()`, exit 0; if stopping takes longer than the
 * deadline, exit 0 anyway (what was not flushed by then is what a crash would lose, and both the
 * outbox and the stores are built for that).
 */
export function exitOnStopSignals(logger: Logger, stop: () => Promise<void>): void {
  let stopping = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    setTimeout(() => {
      logger.warn('shutdown took too long; exiting anyway');
      process.exit(0);
    }, STOP_DEADLINE_MS).unref();
    void stop().then(() => {
      logger.info('stopped');
      process.exit(0);
    });
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
}
