import type { ConfigFile } from "./config-file.js";
import { validateConfig } from "./config-loader.js";
import type { RegistrySnapshot } from "./registry-change.js";
import { sameServiceConfig, type ServiceConfig } from "./service-config.js";

/**
 * Makes the file hold the services of `snapshot` (the desired state), change by change: what an instance does when it
 * takes the `config` role of a namespace, where the desired state is the truth and the file may lag behind it. Entries
 * the file has in a broken form are left alone.
 */
export async function alignConfigFile(file: ConfigFile, snapshot: RegistrySnapshot): Promise<void> {
  const parsed = await file.read();
  const validated = parsed ? validateConfig(parsed) : { services: [], broken: [] };
  const key = (agentId: string | undefined, name: string) => `${agentId ?? ""}/${name}`;
  const inFile = new Map(validated.services.map((entry) => [key(entry.agentId, entry.config.name), entry]));
  const broken = new Set(validated.broken.map((entry) => key(entry.agentId, entry.name)));
  const wanted: Array<{ agentId: string | undefined; config: ServiceConfig }> = [
    ...snapshot.store.map((config) => ({ agentId: undefined, config })),
    ...Object.entries(snapshot.agents).flatMap(([agentId, configs]) => configs.map((config) => ({ agentId: agentId as string | undefined, config }))),
  ];
  for (const { agentId, config } of wanted) {
    const id = key(agentId, config.name);
    const present = inFile.get(id);
    inFile.delete(id);
    if (broken.has(id)) continue;
    if (!present) await file.apply({ kind: "add", agentId, configs: [config] });
    else if (!sameServiceConfig(present.config, config)) await file.apply({ kind: "replace", agentId, config });
  }
  for (const { agentId, config } of inFile.values()) await file.apply({ kind: "remove", agentId, name: config.name });
}
