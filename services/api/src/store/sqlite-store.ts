// Embedded SQLite (node:sqlite) file. WAL + synchronous=FULL: a write is on disk before it
// is acknowledged, so it survives kill -9 and power loss. The file is locked exclusively:
// one process owns it (scale out with PostgreSQL), which is also what makes the in-memory
// read cache below coherent — every write goes through this object. node:sqlite is
// synchronous, so each method below runs to completion without interleaving: its checks
// (quota, If-Match, Idempotency-Key) and its write are one atomic step.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import {
  IDEMPOTENCY_TTL_MS,
  IdempotencyKeyMismatchError,
  checkQuota,
  etagOf,
  matches,
  sizeOf,
  type CreateOptions,
  type Created,
  type Item,
  type Owner,
  type Precondition,
  type Quota,
  type ReadScope,
  type Store,
} from './store.ts';

const MIGRATIONS = [
  `CREATE TABLE items (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     tenant_id TEXT NOT NULL,
     owner_id TEXT NOT NULL,
     data TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX items_owner ON items (tenant_id, owner_id, id DESC);`,
  // Items as a resource: versions (ETag), update time, stored size (quota), idempotency keys.
  `ALTER TABLE items ADD COLUMN updated_at TEXT;
   UPDATE items SET updated_at = created_at;
   ALTER TABLE items ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE items ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0;
   UPDATE items SET size_bytes = length(CAST(data AS BLOB));
   CREATE INDEX items_tenant ON items (tenant_id, id DESC);
   -- The quota check (count and sum per owner) reads this index only, never the data.
   CREATE INDEX items_owner_size ON items (tenant_id, owner_id, size_bytes);
   CREATE TABLE idempotency_keys (
     tenant_id TEXT NOT NULL,
     owner_id TEXT NOT NULL,
     key TEXT NOT NULL,
     request_hash TEXT NOT NULL,
     item_id INTEGER NOT NULL,
     created_at INTEGER NOT NULL,
     PRIMARY KEY (tenant_id, owner_id, key)
   );
   CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);`,
];

const READ_CACHE_OWNERS = 1000;
/** Unambiguous for any strings (the tenant's length says where it ends; no `:oid` for a tenant). */
const ownerKey = (o: ReadScope) =>
  o.oid === null ? `${o.tid.length}:${o.tid}` : `${o.tid.length}:${o.tid}:${o.oid}`;

// The read cache's key of a frozen scope (readScopeOf gives one per principal), made once: the
// same string each time, whose hash V8 keeps, instead of a new one built and hashed per read.
const readKeys = new WeakMap<ReadScope, string>();
function readKeyOf(scope: ReadScope): string {
  if (!Object.isFrozen(scope)) return ownerKey(scope);
  let key = readKeys.get(scope);
  if (key === undefined) readKeys.set(scope, (key = ownerKey(scope)));
  return key;
}

interface Row {
  id: number;
  tenant_id: string;
  owner_id: string;
  data: string;
  created_at: string;
  updated_at: string;
  version: number;
}

const toItem = (r: Row): Item => ({
  id: Number(r.id),
  owner: { tid: r.tenant_id, oid: r.owner_id },
  data: JSON.parse(r.data) as unknown,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
  etag: etagOf(Number(r.version)),
});

const COLUMNS = 'id, tenant_id, owner_id, data, created_at, updated_at, version';

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #byOwner: StatementSync;
  readonly #byTenant: StatementSync;
  readonly #pageOwner: StatementSync;
  readonly #pageTenant: StatementSync;
  readonly #usage: StatementSync;
  readonly #getOwner: StatementSync;
  readonly #getTenant: StatementSync;
  readonly #sizeOf: StatementSync;
  readonly #update: StatementSync;
  readonly #delete: StatementSync;
  readonly #findKey: StatementSync;
  readonly #insertKey: StatementSync;
  readonly #expireKeys: StatementSync;
  /** Recent query results by owner (oid null = all owners of the tenant); a write drops its owner's entry and its tenant's. */
  readonly #reads = new Map<string, { limit: number; items: Item[] }>();
  #lastExpiry = 0;

  constructor(dataDir: string) {
    mkdirSync(dataDir, { recursive: true });
    this.path = join(dataDir, 'api.sqlite');
    this.#db = new DatabaseSync(this.path);
    try {
      this.#db.exec(
        'PRAGMA locking_mode = EXCLUSIVE; PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;',
      );
      this.#migrate();
    } catch (error) {
      this.#db.close();
      if (error instanceof Error && /locked|busy/i.test(error.message)) {
        throw new Error(
          `SQLite database ${this.path} is locked by another process: one API process per DATA_DIR (set DATABASE_URL to run several)`,
          { cause: error },
        );
      }
      throw error;
    }
    const db = this.#db;
    this.#insert = db.prepare(
      `INSERT INTO items (tenant_id, owner_id, data, created_at, updated_at, version, size_bytes) VALUES (?, ?, ?, ?, ?, 1, ?) RETURNING ${COLUMNS}`,
    );
    this.#byOwner = db.prepare(
      `SELECT ${COLUMNS} FROM items WHERE tenant_id = ? AND owner_id = ? ORDER BY id DESC LIMIT ?`,
    );
    this.#byTenant = db.prepare(
      `SELECT ${COLUMNS} FROM items WHERE tenant_id = ? ORDER BY id DESC LIMIT ?`,
    );
    this.#pageOwner = db.prepare(
      `SELECT ${COLUMNS} FROM items WHERE tenant_id = ? AND owner_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
    );
    this.#pageTenant = db.prepare(
      `SELECT ${COLUMNS} FROM items WHERE tenant_id = ? AND id < ? ORDER BY id DESC LIMIT ?`,
    );
    this.#usage = db.prepare(
      'SELECT count(*) AS items, coalesce(sum(size_bytes), 0) AS bytes FROM items WHERE tenant_id = ? AND owner_id = ?',
    );
    this.#getOwner = db.prepare(
      `SELECT ${COLUMNS} FROM items WHERE id = ? AND tenant_id = ? AND owner_id = ?`,
    );
    this.#getTenant = db.prepare(`SELECT ${COLUMNS} FROM items WHERE id = ? AND tenant_id = ?`);
    this.#sizeOf = db.prepare('SELECT size_bytes FROM items WHERE id = ?');
    this.#update = db.prepare(
      `UPDATE items SET data = ?, size_bytes = ?, updated_at = ?, version = version + 1 WHERE id = ? RETURNING ${COLUMNS}`,
    );
    this.#delete = db.prepare('DELETE FROM items WHERE id = ?');
    this.#findKey = db.prepare(
      'SELECT request_hash, item_id FROM idempotency_keys WHERE tenant_id = ? AND owner_id = ? AND key = ? AND created_at > ?',
    );
    this.#insertKey = db.prepare(
      'INSERT OR REPLACE INTO idempotency_keys (tenant_id, owner_id, key, request_hash, item_id, created_at) VALUES (?, ?, ?, ?, ?, ?)',
    );
    this.#expireKeys = db.prepare('DELETE FROM idempotency_keys WHERE created_at <= ?');
  }

  #migrate(): void {
    const { user_version: version } = this.#db.prepare('PRAGMA user_version').get() as {
      user_version: number;
    };
    for (let v = version; v < MIGRATIONS.length; v++) {
      this.#db.exec('BEGIN IMMEDIATE');
      try {
        this.#db.exec(MIGRATIONS[v] as string);
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
        this.#db.exec('COMMIT');
      } catch (error) {
        this.#db.exec('ROLLBACK');
        throw error;
      }
    }
  }

  #forget(owner: Owner): void {
    this.#reads.delete(ownerKey(owner));
    this.#reads.delete(ownerKey({ tid: owner.tid, oid: null }));
  }

  #transaction<T>(fn: () => T): T {
    this.#db.exec('BEGIN IMMEDIATE');
    try {
      const result = fn();
      this.#db.exec('COMMIT');
      return result;
    } catch (error) {
      this.#db.exec('ROLLBACK');
      throw error;
    }
  }

  #insertItem(owner: Owner, data: unknown, quota: Quota): Item {
    const json = JSON.stringify(data);
    const bytes = sizeOf(json);
    const usage = this.#usage.get(owner.tid, owner.oid) as { items: number; bytes: number };
    checkQuota(usage, { items: 1, bytes }, quota);
    const now = new Date().toISOString();
    const row = this.#insert.get(owner.tid, owner.oid, json, now, now, bytes) as unknown as Row;
    this.#forget(owner);
    return toItem(row);
  }

  async put(owner: Owner, data: unknown, quota: Quota): Promise<Item> {
    return this.#transaction(() => this.#insertItem(owner, data, quota));
  }

  async create(owner: Owner, data: unknown, options: CreateOptions): Promise<Created> {
    const { idempotency, quota } = options;
    if (!idempotency) return { item: await this.put(owner, data, quota), replayed: false };
    const now = Date.now();
    return this.#transaction(() => {
      if (now - this.#lastExpiry > 60_000) {
        this.#expireKeys.run(now - IDEMPOTENCY_TTL_MS);
        this.#lastExpiry = now;
      }
      const seen = this.#findKey.get(
        owner.tid,
        owner.oid,
        idempotency.key,
        now - IDEMPOTENCY_TTL_MS,
      ) as { request_hash: string; item_id: number } | undefined;
      if (seen) {
        if (seen.request_hash !== idempotency.requestHash) throw new IdempotencyKeyMismatchError();
        const row = this.#getOwner.get(seen.item_id, owner.tid, owner.oid) as Row | undefined;
        if (row) return { item: toItem(row), replayed: true };
        // The item was deleted since: the key no longer names anything; this request creates anew.
      }
      const item = this.#insertItem(owner, data, quota);
      this.#insertKey.run(
        owner.tid,
        owner.oid,
        idempotency.key,
        idempotency.requestHash,
        item.id,
        now,
      );
      return { item, replayed: false };
    });
  }

  listNow(scope: ReadScope, limit: number): readonly Item[] | undefined {
    const cached = this.#reads.get(readKeyOf(scope));
    return cached !== undefined && cached.limit === limit ? cached.items : undefined;
  }

  async list(scope: ReadScope, limit: number): Promise<Item[]> {
    const key = readKeyOf(scope);
    const cached = this.#reads.get(key);
    if (cached && cached.limit === limit) return cached.items;
    const rows = (scope.oid !== null
      ? this.#byOwner.all(scope.tid, scope.oid, limit)
      : this.#byTenant.all(scope.tid, limit)) as unknown as Row[];
    const items = Object.freeze(rows.map(toItem)) as Item[];
    if (this.#reads.size >= READ_CACHE_OWNERS)
      this.#reads.delete(this.#reads.keys().next().value as string);
    this.#reads.set(key, { limit, items });
    return items;
  }

  async page(scope: ReadScope, limit: number, beforeId?: number): Promise<Item[]> {
    if (beforeId === undefined) return this.list(scope, limit);
    const rows = (scope.oid !== null
      ? this.#pageOwner.all(scope.tid, scope.oid, beforeId, limit)
      : this.#pageTenant.all(scope.tid, beforeId, limit)) as unknown as Row[];
    return rows.map(toItem);
  }

  #row(scope: ReadScope, id: number): Row | undefined {
    return (
      scope.oid !== null
        ? this.#getOwner.get(id, scope.tid, scope.oid)
        : this.#getTenant.get(id, scope.tid)
    ) as Row | undefined;
  }

  async get(scope: ReadScope, id: number): Promise<Item | undefined> {
    const row = this.#row(scope, id);
    return row && toItem(row);
  }

  async update(
    owner: Owner,
    id: number,
    change: (current: unknown) => unknown,
    options: { ifMatch: Precondition; quota: Quota },
  ): Promise<Item | 'not_found' | 'precondition_failed'> {
    return this.#transaction(() => {
      const row = this.#row(owner, id);
      if (!row) return 'not_found';
      if (!matches(options.ifMatch, Number(row.version))) return 'precondition_failed';
      const json = JSON.stringify(change(JSON.parse(row.data) as unknown));
      const bytes = sizeOf(json);
      const { size_bytes: before } = this.#sizeOf.get(id) as { size_bytes: number };
      const usage = this.#usage.get(owner.tid, owner.oid) as { items: number; bytes: number };
      checkQuota(usage, { items: 0, bytes: bytes - before }, options.quota);
      const updated = this.#update.get(json, bytes, new Date().toISOString(), id) as unknown as Row;
      this.#forget(owner);
      return toItem(updated);
    });
  }

  async remove(
    owner: Owner,
    id: number,
    ifMatch: Precondition,
  ): Promise<'deleted' | 'not_found' | 'precondition_failed'> {
    return this.#transaction(() => {
      const row = this.#row(owner, id);
      if (!row) return 'not_found';
      if (!matches(ifMatch, Number(row.version))) return 'precondition_failed';
      this.#delete.run(id);
      this.#forget(owner);
      return 'deleted';
    });
  }

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}
