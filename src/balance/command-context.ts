import type { RuntimeConfig } from '../runtime-config.js';
import { fetchAgentBalance, healthUrl } from './agent-health.js';
import type { BalanceContext } from './command.js';
import { OverrideStore } from './override.js';
import { currentUser, userNameOf } from './user-name.js';

/** The real context of `harbinger balance …`: the agent's state directory and web address from its configuration. */
export function balanceContext(runtime: RuntimeConfig, argv: readonly string[]): BalanceContext {
  const store = new OverrideStore(runtime.config.stateDir);
  return {
    store,
    now: Date.now,
    euid: process.geteuid?.() ?? -1,
    stateDirOwner: () => store.stateDirOwner(),
    user: currentUser(process.env),
    userName: (uid) => userNameOf(uid),
    argv,
    healthUrl: healthUrl(runtime.config.web.listenAddress, runtime.web?.tls !== undefined),
    askAgent: fetchAgentBalance,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
    write: (text) => process.stdout.write(text),
  };
}
