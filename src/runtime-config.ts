import type { CollectorDefinition } from './collectors/types.js';
import { loadConfig, type Config, type LoadInput } from './config/load.js';
import { ConfigError } from './config/problems.js';
import { loadWebConfig, type WebConfig } from './web/webconfig.js';

export interface RuntimeConfig {
  config: Config;
  web: WebConfig | undefined;
}

/** The agent's config and the web config it points at, validated together: all problems at once. */
export async function loadRuntimeConfig(input: LoadInput & { collectors: readonly CollectorDefinition[] }): Promise<RuntimeConfig> {
  const config = await loadConfig(input);
  const file = config.web.configFile;
  if (file === undefined) return { config, web: undefined };
  try {
    return { config, web: await loadWebConfig(file) };
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw new ConfigError([{ key: 'web.config_file', message: String(err), source: file }]);
  }
}
