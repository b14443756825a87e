// Embedded SQLite (node:sqlite) file. WAL + synchronous=FULL: a write is on disk before it
// is acknowledged, so it survives kill -9 and power loss. The file is locked exclusively:
// one process owns it (scale out with PostgreSQL), which is also what makes the in-memory
// read cache below coherent — every write goes through this object.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { DatabaseSync, type StatementSync } from 'node:sqlite';
import type { Item, Owner, Store } from './store.ts';

const MIGRATIONS = [
  `CREATE TABLE items (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     tenant_id TEXT NOT NULL,
     owner_id TEXT NOT NULL,
     data TEXT NOT NULL,
     created_at TEXT NOT NULL
   );
   CREATE INDEX items_owner ON items (tenant_id, owner_id, id DESC);`,
];

const READ_CACHE_OWNERS = 1000;
const ownerKey = (o: { tid: string; oid: string | null }) => JSON.stringify([o.tid, o.oid]);

interface Row {
  id: number;
  tenant_id: string;
  owner_id: string;
  data: string;
  created_at: string;
}

const toItem = (r: Row): Item => ({
  id: Number(r.id),
  owner: { tid: r.tenant_id, oid: r.owner_id },
  data: JSON.parse(r.data) as unknown,
  createdAt: r.created_at,
});

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  readonly #db: DatabaseSync;
  readonly #insert: StatementSync;
  readonly #byOwner: StatementSync;
  readonly #byTenant: StatementSync;
  /** Recent query results by owner (oid null = all owners of the tenant); a write drops its owner's entry and its tenant's. */
  readonly #reads = new Map<string, { limit: number; items: Item[] }>();

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
    this.#insert = this.#db.prepare(
      'INSERT INTO items (tenant_id, owner_id, data, created_at) VALUES (?, ?, ?, ?) RETURNING *',
    );
    this.#byOwner = this.#db.prepare(
      'SELECT * FROM items WHERE tenant_id = ? AND owner_id = ? ORDER BY id DESC LIMIT ?',
    );
    this.#byTenant = this.#db.prepare(
      'SELECT * FROM items WHERE tenant_id = ? ORDER BY id DESC LIMIT ?',
    );
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

  async put(owner: Owner, data: unknown): Promise<Item> {
    const row = this.#insert.get(
      owner.tid,
      owner.oid,
      JSON.stringify(data),
      new Date().toISOString(),
    ) as unknown as Row;
    this.#reads.delete(ownerKey(owner));
    this.#reads.delete(ownerKey({ tid: owner.tid, oid: null }));
    return toItem(row);
  }

  async list(owner: { tid: string; oid: string | null }, limit: number): Promise<Item[]> {
    const key = ownerKey(owner);
    const cached = this.#reads.get(key);
    if (cached && cached.limit === limit) return cached.items;
    const rows = (owner.oid !== null
      ? this.#byOwner.all(owner.tid, owner.oid, limit)
      : this.#byTenant.all(owner.tid, limit)) as unknown as Row[];
    const items = Object.freeze(rows.map(toItem)) as Item[];
    if (this.#reads.size >= READ_CACHE_OWNERS)
      this.#reads.delete(this.#reads.keys().next().value as string);
    this.#reads.set(key, { limit, items });
    return items;
  }

  async ping(): Promise<void> {
    this.#db.prepare('SELECT 1').get();
  }

  async close(): Promise<void> {
    if (this.#db.isOpen) this.#db.close();
  }
}
