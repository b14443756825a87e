import type { ApiConfig } from '../config.ts';
import { PostgresStore } from './postgres-store.ts';
import { SqliteStore } from './sqlite-store.ts';
import type { Store } from './store.ts';

export {
  IdempotencyKeyMismatchError,
  QuotaExceededError,
  StoreUnavailableError,
  type Item,
  type Owner,
  type Precondition,
  type Quota,
  type ReadScope,
  type Store,
} from './store.ts';

/** PostgreSQL when DATABASE_URL is set, else the SQLite file under DATA_DIR. */
export async function openStore(
  config: Pick<ApiConfig, 'databaseUrl' | 'databasePoolMax' | 'dataDir'>,
): Promise<Store> {
  if (config.databaseUrl) return PostgresStore.open(config.databaseUrl, config.databasePoolMax);
  return new SqliteStore(config.dataDir);
}
