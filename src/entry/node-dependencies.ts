import { type Config, parseConfig } from '../core/config.ts';
import { createEmbedder, type Embedder } from '../embeddings/create-embedder.ts';
import { openStore } from '../store/open-store.ts';
import type { Store, StoreOptions } from '../store/store.ts';

export interface NodeDependencies {
  config: Config;
  embedder: Embedder;
  store: Store;
}

/** Reads the environment once and builds what every Node entry point needs. */
export async function openNodeDependencies(
  environment: Record<string, string | undefined> = process.env,
  storeOptions: Partial<StoreOptions> = {},
): Promise<NodeDependencies> {
  const config = parseConfig(environment);
  const embedder = await createEmbedder(config);
  const store = await openStore(config, embedder.identity, storeOptions);
  return { config, embedder, store };
}
