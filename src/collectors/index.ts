import { dbCollector } from './db/index.js';
import { hostCollector } from './host.js';
import { pressureCollector } from './pressure/index.js';
import { smartCollector } from './smart/index.js';
import { storageCollector } from './storage/index.js';
import type { CollectorDefinition } from './types.js';

/** Every collector the agent knows; each brings its config keys, flags, loop and metrics. */
export const COLLECTORS: readonly CollectorDefinition<any>[] = [pressureCollector, smartCollector, hostCollector, dbCollector, storageCollector];
