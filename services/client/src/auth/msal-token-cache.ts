// MSAL token cache persisted per user: one entry per account (`msal:<homeAccountId>`) in the same
// store as the sessions. The plugin is bound to one partition; an MSAL client object using it
// therefore only ever holds that one user's tokens.
import type { ICachePlugin, TokenCacheContext } from '@azure/msal-node';
import type { KeyValueStore } from '../store/store.ts';

export const tokenCacheKey = (homeAccountId: string): string => `msal:${homeAccountId}`;

export class PartitionMismatchError extends Error {
  override name = 'PartitionMismatchError';
}

/** Home account ids of the accounts in a serialized MSAL cache. */
export function accountsInSerializedCache(serialized: string): string[] {
  const parsed = JSON.parse(serialized) as {
    Account?: Record<string, { home_account_id?: string }>;
  };
  return [
    ...new Set(Object.values(parsed.Account ?? {}).map((a) => a.home_account_id ?? '')),
  ].filter(Boolean);
}

export class PartitionedTokenCachePlugin implements ICachePlugin {
  readonly #store: KeyValueStore;
  readonly #ttlSeconds: number;
  #partition: string | undefined;

  /** `partition` is the home account id; unknown before the first sign-in (code redemption). */
  constructor(store: KeyValueStore, partition: string | undefined, ttlSeconds: number) {
    this.#store = store;
    this.#partition = partition;
    this.#ttlSeconds = ttlSeconds;
  }

  get partition(): string | undefined {
    return this.#partition;
  }

  async beforeCacheAccess(context: TokenCacheContext): Promise<void> {
    if (!this.#partition) return;
    const data = await this.#store.get(tokenCacheKey(this.#partition));
    if (data) context.tokenCache.deserialize(data);
  }

  async afterCacheAccess(context: TokenCacheContext): Promise<void> {
    if (!context.cacheHasChanged) return;
    const serialized = context.tokenCache.serialize();
    const accounts = accountsInSerializedCache(serialized);
    if (accounts.length === 0) {
      // Everything was removed (e.g. removeAccount): drop the partition.
      if (this.#partition) await this.#store.delete(tokenCacheKey(this.#partition));
      return;
    }
    if (accounts.length > 1 || (this.#partition && accounts[0] !== this.#partition)) {
      // Never write one user's tokens under another user's key.
      throw new PartitionMismatchError('token cache holds an account other than its partition');
    }
    this.#partition = accounts[0];
    await this.#store.set(tokenCacheKey(accounts[0] as string), serialized, this.#ttlSeconds);
  }
}
