// PostgreSQL, for several API replicas. Migrations run at start under an advisory lock, so
// replicas starting together apply each one exactly once.
import pg from 'pg';
import { StoreUnavailableError, type Item, type Owner, type Store } from './store.ts';

const MIGRATIONS = [
  `CREATE TABLE items (
     id BIGSERIAL PRIMARY KEY,
     tenant_id TEXT NOT NULL,
     owner_id TEXT NOT NULL,
     data JSON NOT NULL,
     created_at TIMESTAMPTZ NOT NULL
   );
   CREATE INDEX items_owner ON items (tenant_id, owner_id, id DESC);`,
];
const MIGRATION_LOCK = 7_301_911_001;

interface Row {
  id: string;
  tenant_id: string;
  owner_id: string;
  data: unknown;
  created_at: Date;
}

const toItem = (r: Row): Item => ({
  id: Number(r.id),
  owner: { tid: r.tenant_id, oid: r.owner_id },
  data: r.data,
  createdAt: r.created_at.toISOString(),
});

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly #pool: pg.Pool;

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

  async put(owner: Owner, data: unknown): Promise<Item> {
    const { rows } = await this.#query<Row>(
      'INSERT INTO items (tenant_id, owner_id, data, created_at) VALUES ($1, $2, $3::json, $4) RETURNING *',
      [owner.tid, owner.oid, JSON.stringify(data), new Date()],
    );
    return toItem(rows[0] as Row);
  }

  async list(owner: { tid: string; oid: string | null }, limit: number): Promise<Item[]> {
    const { rows } =
      owner.oid !== null
        ? await this.#query<Row>(
            'SELECT * FROM items WHERE tenant_id = $1 AND owner_id = $2 ORDER BY id DESC LIMIT $3',
            [owner.tid, owner.oid, limit],
          )
        : await this.#query<Row>(
            'SELECT * FROM items WHERE tenant_id = $1 ORDER BY id DESC LIMIT $2',
            [owner.tid, limit],
          );
    return rows.map(toItem);
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
      if (isConnectionFailure(error))
        throw new StoreUnavailableError(`PostgreSQL unavailable: ${(error as Error).message}`, {
          cause: error,
        });
      throw error;
    }
  }

  async close(): Promise<void> {
    await this.#pool.end();
  }
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
