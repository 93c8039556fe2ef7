import type { CollectorDefinition } from '../collectors/types.js';
import { loadConfig, type Config, type LoadInput } from '../config/load.js';
import { ConfigError, type ConfigProblem } from '../config/problems.js';
import { loadWebConfig } from '../web/webconfig.js';
import type { FleetRuntime } from './service.js';

/**
 * The configuration of `harbinger collector`: the same file, env and flags as the agent, plus
 * what only the collector needs: a broker (mqtt.url) and its own web config file.
 * Every problem is reported at once, as a ConfigError (exit 78).
 */
export async function loadFleetRuntime(input: LoadInput & { collectors: readonly CollectorDefinition[] }): Promise<{ config: Config; runtime: FleetRuntime }> {
  const config = await loadConfig(input);
  const problems: ConfigProblem[] = [];
  const mqtt = config.mqtt;
  if (!mqtt) {
    problems.push({ key: 'mqtt.url', message: 'harbinger collector needs a broker: set mqtt.url (e.g. --mqtt.url mqtt://broker.example:1883)' });
  }
  let web: FleetRuntime['web'];
  let omitted = 0;
  const file = config.fleet.webConfigFile;
  if (file !== undefined) {
    try {
      web = await loadWebConfig(file);
    } catch (err) {
      if (err instanceof ConfigError) {
        problems.push(...err.problems);
        omitted += err.omitted;
      }
      else problems.push({ key: 'fleet.web_config_file', message: String(err), source: file });
    }
  }
  if (problems.length > 0 || !mqtt) throw new ConfigError(problems, omitted);
  return { config, runtime: { mqtt, fleet: config.fleet, web } };
}
