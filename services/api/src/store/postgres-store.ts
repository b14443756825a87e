// PostgreSQL, for several API replicas. Migrations run at start under an advisory lock, so
// replicas starting together apply each one exactly once. Writes run in a transaction that
// first takes a per-owner advisory lock: the quota check and the write it guards are atomic
// across replicas, and so are an Idempotency-Key's lookup and its first use.
import pg from 'pg';
import {
  IDEMPOTENCY_TTL_MS,
  IdempotencyKeyMismatchError,
  StoreUnavailableError,
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
     id BIGSERIAL PRIMARY KEY,
     tenant_id TEXT NOT NULL,
     owner_id TEXT NOT NULL,
     data JSON NOT NULL,
     created_at TIMESTAMPTZ NOT NULL
   );
   CREATE INDEX items_owner ON items (tenant_id, owner_id, id DESC);`,
  // Items as a resource: versions (ETag), update time, stored size (quota), idempotency keys.
  `ALTER TABLE items ADD COLUMN updated_at TIMESTAMPTZ;
   UPDATE items SET updated_at = created_at;
   ALTER TABLE items ALTER COLUMN updated_at SET NOT NULL;
   ALTER TABLE items ADD COLUMN version INTEGER NOT NULL DEFAULT 1;
   ALTER TABLE items ADD COLUMN size_bytes INTEGER NOT NULL DEFAULT 0;
   UPDATE items SET size_bytes = octet_length(data::text);
   CREATE INDEX items_tenant ON items (tenant_id, id DESC);
   -- The quota check (count and sum per owner) reads this index only, never the data.
   CREATE INDEX items_owner_size ON items (tenant_id, owner_id, size_bytes);
   CREATE TABLE idempotency_keys (
     tenant_id TEXT NOT NULL,
     owner_id TEXT NOT NULL,
     key TEXT NOT NULL,
     request_hash TEXT NOT NULL,
     item_id BIGINT NOT NULL,
     created_at TIMESTAMPTZ NOT NULL,
     PRIMARY KEY (tenant_id, owner_id, key)
   );
   CREATE INDEX idempotency_keys_age ON idempotency_keys (created_at);`,
];
const MIGRATION_LOCK = 7_301_911_001;
/** First key of the two-key advisory locks that serialize one owner's writes. */
const OWNER_LOCK_CLASS = 7_301_911;

interface Row {
  id: string;
  tenant_id: string;
  owner_id: string;
  data: unknown;
  created_at: Date;
  updated_at: Date;
  version: number;
}

const COLUMNS = 'id, tenant_id, owner_id, data, created_at, updated_at, version';

const toItem = (r: Row): Item => ({
  id: Number(r.id),
  owner: { tid: r.tenant_id, oid: r.owner_id },
  data: r.data,
  createdAt: r.created_at.toISOString(),
  updatedAt: r.updated_at.toISOString(),
  etag: etagOf(Number(r.version)),
});

type Query = <R extends pg.QueryResultRow>(
  text: string,
  values?: unknown[],
) => Promise<pg.QueryResult<R>>;

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;
  #lastExpiry = 0;

  private constructor(pool: pg.Pool) {
    this.#pool = pool;
  }

  static async open(url: string, poolMax: number): Promise<PostgresStore> {
    const pool = new pg.Pool({
      connectionString: url,
      max: poolMax,
      connectionTimeoutMillis: 5000,
    });
    // An idle client losing its connection must not crash the process; the pool replaces it.
    pool.on('error', () => undefined);
    const store = new PostgresStore(pool);
    try {
      await store.#migrate();
    } catch (error) {
      await pool.end();
      throw error;
    }
    return store;
  }

  async #migrate(): Promise<void> {
    const client = await this.#pool.connect();
    try {
      await client.query('BEGIN');
      await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK]);
      await client.query(
        'CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, applied_at TIMESTAMPTZ NOT NULL DEFAULT now())',
      );
      const { rows } = await client.query<{ v: number | null }>(
        'SELECT max(version) AS v FROM schema_migrations',
      );
      for (let v = rows[0]?.v ?? 0; v < MIGRATIONS.length; v++) {
        await client.query(MIGRATIONS[v] as string);
        await client.query('INSERT INTO schema_migrations (version) VALUES ($1)', [v + 1]);
      }
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  /** Runs `fn` in a transaction holding the owner's write lock. */
  async #asOwner<T>(owner: Owner, fn: (query: Query) => Promise<T>): Promise<T> {
    let client: pg.PoolClient;
    try {
      client = await this.#pool.connect();
    } catch (error) {
      throw unavailable(error);
    }
    const query: Query = async (text, values) => {
      try {
        return await client.query(text, values);
      } catch (error) {
        throw unavailable(error);
      }
    };
    let broken = false;
    try {
      await query('BEGIN');
      await query('SELECT pg_advisory_xact_lock($1, hashtext($2))', [
        OWNER_LOCK_CLASS,
        `${owner.tid}/${owner.oid}`,
      ]);
      const result = await fn(query);
      await query('COMMIT');
      return result;
    } catch (error) {
      broken = error instanceof StoreUnavailableError;
      await client.query('ROLLBACK').catch(() => {
        broken = true;
      });
      throw error;
    } finally {
      client.release(broken);
    }
  }

  async #insertItem(query: Query, owner: Owner, data: unknown, quota: Quota): Promise<Item> {
    const json = JSON.stringify(data);
    const bytes = sizeOf(json);
    const { rows: usage } = await query<{ items: string; bytes: string }>(
      'SELECT count(*) AS items, coalesce(sum(size_bytes), 0) AS bytes FROM items WHERE tenant_id = $1 AND owner_id = $2',
      [owner.tid, owner.oid],
    );
    checkQuota(
      { items: Number(usage[0]?.items ?? 0), bytes: Number(usage[0]?.bytes ?? 0) },
      { items: 1, bytes },
      quota,
    );
    const now = new Date();
    const { rows } = await query<Row>(
      `INSERT INTO items (tenant_id, owner_id, data, created_at, updated_at, version, size_bytes) VALUES ($1, $2, $3::json, $4, $4, 1, $5) RETURNING ${COLUMNS}`,
      [owner.tid, owner.oid, json, now, bytes],
    );
    return toItem(rows[0] as Row);
  }

  async put(owner: Owner, data: unknown, quota: Quota): Promise<Item> {
    return this.#asOwner(owner, (query) => this.#insertItem(query, owner, data, quota));
  }

  async create(owner: Owner, data: unknown, options: CreateOptions): Promise<Created> {
    const { idempotency, quota } = options;
    if (!idempotency) return { item: await this.put(owner, data, quota), replayed: false };
    const now = Date.now();
    if (now - this.#lastExpiry > 60_000) {
      this.#lastExpiry = now;
      this.#query('DELETE FROM idempotency_keys WHERE created_at <= $1', [
        new Date(now - IDEMPOTENCY_TTL_MS),
      ]).catch(() => undefined);
    }
    return this.#asOwner(owner, async (query) => {
      const { rows: seen } = await query<{ request_hash: string; item_id: string }>(
        'SELECT request_hash, item_id FROM idempotency_keys WHERE tenant_id = $1 AND owner_id = $2 AND key = $3 AND created_at > $4',
        [owner.tid, owner.oid, idempotency.key, new Date(now - IDEMPOTENCY_TTL_MS)],
      );
      const first = seen[0];
      if (first) {
        if (first.request_hash !== idempotency.requestHash) throw new IdempotencyKeyMismatchError();
        const { rows } = await query<Row>(
          `SELECT ${COLUMNS} FROM items WHERE id = $1 AND tenant_id = $2 AND owner_id = $3`,
          [first.item_id, owner.tid, owner.oid],
        );
        if (rows[0]) return { item: toItem(rows[0]), replayed: true };
        // The item was deleted since: the key no longer names anything; this request creates anew.
      }
      const item = await this.#insertItem(query, owner, data, quota);
      await query(
        `INSERT INTO idempotency_keys (tenant_id, owner_id, key, request_hash, item_id, created_at)
         VALUES ($1, $2, $3, $4, $5, $6)
         ON CONFLICT (tenant_id, owner_id, key) DO UPDATE
         SET request_hash = EXCLUDED.request_hash, item_id = EXCLUDED.item_id, created_at = EXCLUDED.created_at`,
        [owner.tid, owner.oid, idempotency.key, idempotency.requestHash, item.id, new Date(now)],
      );
      return { item, replayed: false };
    });
  }

  async list(scope: ReadScope, limit: number): Promise<Item[]> {
    return this.page(scope, limit);
  }

  async page(scope: ReadScope, limit: number, beforeId?: number): Promise<Item[]> {
    const before = beforeId ?? Number.MAX_SAFE_INTEGER;
    const { rows } =
      scope.oid !== null
        ? await this.#query<Row>(
            `SELECT ${COLUMNS} FROM items WHERE tenant_id = $1 AND owner_id = $2 AND id < $3 ORDER BY id DESC LIMIT $4`,
            [scope.tid, scope.oid, before, limit],
          )
        : await this.#query<Row>(
            `SELECT ${COLUMNS} FROM items WHERE tenant_id = $1 AND id < $2 ORDER BY id DESC LIMIT $3`,
            [scope.tid, before, limit],
          );
    return rows.map(toItem);
  }

  async get(scope: ReadScope, id: number): Promise<Item | undefined> {
    const row = await this.#row(this.#query.bind(this), scope, id);
    return row && toItem(row);
  }

  async #row(query: Query, scope: ReadScope, id: number, lock = ''): Promise<Row | undefined> {
    const { rows } =
      scope.oid !== null
        ? await query<Row>(
            `SELECT ${COLUMNS} FROM items WHERE id = $1 AND tenant_id = $2 AND owner_id = $3${lock}`,
            [id, scope.tid, scope.oid],
          )
        : await query<Row>(`SELECT ${COLUMNS} FROM items WHERE id = $1 AND tenant_id = $2${lock}`, [
            id,
            scope.tid,
          ]);
    return rows[0];
  }

  async update(
    owner: Owner,
    id: number,
    change: (current: unknown) => unknown,
    options: { ifMatch: Precondition; quota: Quota },
  ): Promise<Item | 'not_found' | 'precondition_failed'> {
    return this.#asOwner(owner, async (query) => {
      const row = await this.#row(query, owner, id, ' FOR UPDATE');
      if (!row) return 'not_found';
      if (!matches(options.ifMatch, Number(row.version))) return 'precondition_failed';
      const json = JSON.stringify(change(row.data));
      const bytes = sizeOf(json);
      const { rows: usage } = await query<{ items: string; bytes: string; before: number }>(
        `SELECT count(*) AS items, coalesce(sum(size_bytes), 0) AS bytes,
                max(size_bytes) FILTER (WHERE id = $3) AS before
         FROM items WHERE tenant_id = $1 AND owner_id = $2`,
        [owner.tid, owner.oid, id],
      );
      const u = usage[0];
      checkQuota(
        { items: Number(u?.items ?? 0), bytes: Number(u?.bytes ?? 0) },
        { items: 0, bytes: bytes - Number(u?.before ?? 0) },
        options.quota,
      );
      const { rows } = await query<Row>(
        `UPDATE items SET data = $1::json, size_bytes = $2, updated_at = $3, version = version + 1 WHERE id = $4 RETURNING ${COLUMNS}`,
        [json, bytes, new Date(), id],
      );
      return toItem(rows[0] as Row);
    });
  }

  async remove(
    owner: Owner,
    id: number,
    ifMatch: Precondition,
  ): Promise<'deleted' | 'not_found' | 'precondition_failed'> {
    return this.#asOwner(owner, async (query) => {
      const row = await this.#row(query, owner, id, ' FOR UPDATE');
      if (!row) return 'not_found';
      if (!matches(ifMatch, Number(row.version))) return 'precondition_failed';
      await query('DELETE FROM items WHERE id = $1', [id]);
      return 'deleted';
    });
  }

  async ping(): Promise<void> {
    await this.#query('SELECT 1');
  }

  async #query<R extends pg.QueryResultRow>(
    text: string,
    values?: unknown[],
  ): Promise<pg.QueryResult<R>> {
    try {
      return await this.#pool.query<R>(text, values);
    } catch (error) {
      throw unavailable(error);
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
}

/** A connection failure as StoreUnavailableError (503); any other error as it is. */
function unavailable(error: unknown): unknown {
  if (!isConnectionFailure(error)) return error;
  return new StoreUnavailableError(`PostgreSQL unavailable: ${(error as Error).message}`, {
    cause: error,
  });
}

/** Connection-level failures (not a bad query): network errors, SQLSTATE 08xxx, 57P0x, 53300. */
function isConnectionFailure(error: unknown): boolean {
  const e = error as { code?: unknown; message?: unknown };
  const code = typeof e?.code === 'string' ? e.code : '';
  if (/^(08|57P0|53300)/.test(code) || /^E[A-Z]+$/.test(code)) return true;
  return (
    typeof e?.message === 'string' &&
    /Connection terminated|timeout exceeded when trying to connect|connect ECONN/i.test(e.message)
  );
}
