// What the routes need from storage; SQLite (default) and PostgreSQL implement it alike.

/** Who owns an item: the caller's tenant and object id. */
export interface Owner {
  tid: string;
  oid: string;
}

/** Whose items a read sees: one owner's, or (`oid` null) every owner's of the tenant. */
export interface ReadScope {
  tid: string;
  oid: string | null;
}

export interface Item {
  id: number;
  owner: Owner;
  data: unknown;
  createdAt: string;
  updatedAt: string;
  /** Strong entity tag of this version, quoted as in the ETag header: `"3"`. */
  etag: string;
}

/** Per-owner limits checked in the same transaction as the write. */
export interface Quota {
  /** Most items one owner may hold. */
  items: number;
  /** Most bytes (the stored JSON text of `data`, summed) one owner may hold. */
  bytes: number;
}

export interface CreateOptions {
  quota: Quota;
  /** Idempotency-Key of the request and a hash of its body: a repeat returns the first item. */
  idempotency?: { key: string; requestHash: string };
}

/** What a create did: stored a new item, or found the item of an earlier request with the same key. */
export interface Created {
  item: Item;
  replayed: boolean;
}

/** A condition on the current version (If-Match): `*` is any version, else the exact etags. */
export type Precondition = '*' | readonly string[];

export interface Store {
  readonly kind: 'sqlite' | 'postgres';
  /** Stores the item durably before resolving (the tutorial's POST /data/write). */
  put(owner: Owner, data: unknown, quota: Quota): Promise<Item>;
  /** Newest first; `owner.oid` null lists every owner's items of the tenant (app permission Data.Read.All). */
  list(scope: ReadScope, limit: number): Promise<Item[]>;
  /**
   * What list() would give, when the store holds it in memory (no I/O): a frozen list, shared
   * with other readers; undefined when list() has to read it. Lets a read answer without
   * waiting (the SQLite store's read cache).
   */
  listNow?(scope: ReadScope, limit: number): readonly Item[] | undefined;
  /**
   * Stores a new item, or, when `idempotency` names a key this owner used before (within
   * IDEMPOTENCY_TTL_MS), returns the item that request created. Throws IdempotencyKeyMismatch
   * when that request had another body, QuotaExceededError when the owner's quota is full.
   */
  create(owner: Owner, data: unknown, options: CreateOptions): Promise<Created>;
  /** Up to `limit` items, newest first (by id), with ids below `beforeId` when given. */
  page(scope: ReadScope, limit: number, beforeId?: number): Promise<Item[]>;
  /** One item, if it exists in the scope. */
  get(scope: ReadScope, id: number): Promise<Item | undefined>;
  /**
   * Replaces the data of the owner's item with `change(current data)`, if `ifMatch` holds.
   * `change` may throw (a merge patch giving something invalid): nothing is written then.
   */
  update(
    owner: Owner,
    id: number,
    change: (current: unknown) => unknown,
    options: { ifMatch: Precondition; quota: Quota },
  ): Promise<Item | 'not_found' | 'precondition_failed'>;
  /** Deletes the owner's item if `ifMatch` holds. */
  remove(
    owner: Owner,
    id: number,
    ifMatch: Precondition,
  ): Promise<'deleted' | 'not_found' | 'precondition_failed'>;
  /** Throws unless the store answers. */
  ping(): Promise<void>;
  close(): Promise<void>;
}

/** How long an Idempotency-Key is remembered (a retry comes within seconds or minutes). */
export const IDEMPOTENCY_TTL_MS = 24 * 60 * 60 * 1000;

/** The store cannot be reached right now (database down, connection lost): 503, not the caller's fault. */
export class StoreUnavailableError extends Error {
  override name = 'StoreUnavailableError';
}

/** The owner's item count or byte quota would be exceeded by this write. */
export class QuotaExceededError extends Error {
  override name = 'QuotaExceededError';
  readonly limit: 'items' | 'bytes';
  readonly quota: number;
  constructor(limit: 'items' | 'bytes', quota: number) {
    super(
      limit === 'items'
        ? `The item quota is full: at most ${quota} items per user; delete some first`
        : `The storage quota is full: at most ${quota} bytes of item data per user; delete or shrink items first`,
    );
    this.limit = limit;
    this.quota = quota;
  }
}

/** The Idempotency-Key was used before with another request body. */
export class IdempotencyKeyMismatchError extends Error {
  override name = 'IdempotencyKeyMismatchError';
  constructor() {
    super(
      'This Idempotency-Key was already used with a different request body; use a new key for a new item',
    );
  }
}

/** The stored size of `data`: its JSON text in UTF-8 bytes. */
export const sizeOf = (json: string) => Buffer.byteLength(json, 'utf8');

export const etagOf = (version: number) => `"${version}"`;

/** Whether the current version satisfies If-Match (strong comparison, RFC 9110 §13.1.1). */
export function matches(ifMatch: Precondition, version: number): boolean {
  return ifMatch === '*' || ifMatch.includes(etagOf(version));
}

/** Throws QuotaExceededError if adding `addItems` items and `addBytes` bytes to `usage` exceeds `quota`. */
export function checkQuota(
  usage: { items: number; bytes: number },
  add: { items: number; bytes: number },
  quota: Quota,
): void {
  if (add.items > 0 && usage.items + add.items > quota.items)
    throw new QuotaExceededError('items', quota.items);
  if (add.bytes > 0 && usage.bytes + add.bytes > quota.bytes)
    throw new QuotaExceededError('bytes', quota.bytes);
}
