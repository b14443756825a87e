// What the routes need from storage; SQLite (default) and PostgreSQL implement it alike.

/** Who owns an item: the caller's tenant and object id. */
export interface Owner {
  tid: string;
  oid: string;
}

export interface Item {
  id: number;
  owner: Owner;
  data: unknown;
  createdAt: string;
}

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Stores the item durably before resolving. */
  put(owner: Owner, data: unknown): Promise<Item>;
  /** Newest first; `owner.oid` null lists every owner's items of the tenant (app permission Data.Read.All). */
  list(owner: { tid: string; oid: string | null }, limit: number): Promise<Item[]>;
  /** Throws unless the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** The store cannot be reached right now (database down, connection lost): 503, not the caller's fault. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}
