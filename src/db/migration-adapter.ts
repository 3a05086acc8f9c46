import pg from 'pg';
import { PrismaPg } from '@prisma/adapter-pg';
import {
  ColumnTypeEnum,
  DriverAdapterError,
  type IsolationLevel,
  type SqlDriverAdapter,
  type SqlMigrationAwareDriverAdapterFactory,
  type SqlQuery,
  type SqlResultSet,
  type Transaction,
  type ConnectionInfo,
} from '@prisma/driver-adapter-utils';
import { quoteIdent, withDatabase } from './pg-url.js';

const CHAR_OID = 18;
const TEXT_OID = 25;

/** Result rows (by identity) holding Postgres' internal `"char"` columns, with those columns' indexes. */
const charColumns = new WeakMap<object, number[]>();

interface PgResultLike {
  fields?: Array<{ dataTypeID: number }>;
  rows?: object;
}

function noteCharColumns(result: unknown): unknown {
  for (const r of (Array.isArray(result) ? result : [result]) as PgResultLike[]) {
    if (!r?.fields || !r.rows) continue;
    const indexes: number[] = [];
    r.fields.forEach((field, i) => {
      if (field.dataTypeID !== CHAR_OID) return;
      field.dataTypeID = TEXT_OID; // adapter-pg rejects OID 18; the value is already a 1-char string
      indexes.push(i);
    });
    if (indexes.length > 0) charColumns.set(r.rows, indexes);
  }
  return result;
}

/**
 * adapter-pg rejects the `"char"` type (OID 18) that the schema engine reads from the catalogs (relkind,
 * contype, ...) and has no mapping to the engine's Character column type. Each pooled client's results are
 * noted here, and the adapter below reports those columns as Character, as the native engine does.
 */
function watchCharColumns(client: pg.PoolClient): void {
  const original = client.query.bind(client) as (...args: unknown[]) => unknown;
  const patched = (...args: unknown[]): unknown => {
    const last = args.at(-1);
    if (typeof last === 'function') {
      const callback = last as (err: unknown, res: unknown) => void;
      args[args.length - 1] = (err: unknown, res: unknown) => callback(err, err ? res : noteCharColumns(res));
      return original(...args);
    }
    const out = original(...args);
    return out instanceof Promise ? out.then(noteCharColumns) : out;
  };
  Object.assign(client, { query: patched });
}

function withCharColumns(result: SqlResultSet): SqlResultSet {
  for (const i of charColumns.get(result.rows) ?? []) result.columnTypes[i] = ColumnTypeEnum.Character;
  return result;
}

function createPool(url: string): pg.Pool {
  // One connection: the engine's session-level advisory lock must be taken and released on the same session.
  const pool = new pg.Pool({ connectionString: url, max: 1 });
  pool.on('connect', watchCharColumns);
  pool.on('error', () => {
    /* idle client errors surface on the next query */
  });
  return pool;
}

class CharAwareTransaction implements Transaction {
  readonly provider = 'postgres' as const;
  readonly adapterName: string;
  readonly options: Transaction['options'];

  constructor(private readonly inner: Transaction) {
    this.adapterName = inner.adapterName;
    this.options = inner.options;
  }

  async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return withCharColumns(await this.inner.queryRaw(query));
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.inner.executeRaw(query);
  }

  commit(): Promise<void> {
    return this.inner.commit();
  }

  rollback(): Promise<void> {
    return this.inner.rollback();
  }

  async createSavepoint(name: string): Promise<void> {
    await this.inner.createSavepoint?.(name);
  }

  async rollbackToSavepoint(name: string): Promise<void> {
    await this.inner.rollbackToSavepoint?.(name);
  }

  async releaseSavepoint(name: string): Promise<void> {
    await this.inner.releaseSavepoint?.(name);
  }
}

function toAdapterError(error: unknown): unknown {
  if (error instanceof pg.DatabaseError) {
    return new DriverAdapterError({
      kind: 'postgres',
      code: error.code ?? 'UNKNOWN',
      severity: error.severity ?? 'ERROR',
      message: error.message,
      detail: error.detail,
      column: error.column,
      hint: error.hint,
    });
  }
  return error;
}

/**
 * Delegates to adapter-pg, reporting `"char"` columns as Character, except `executeScript`: adapter-pg splits scripts on every `;` (breaking string
 * literals and applying migrations statement by statement). Here the whole script goes as one simple-protocol
 * query, which Postgres runs as one implicit transaction, as the native engine does.
 */
class ScriptSafePgAdapter implements SqlDriverAdapter {
  readonly provider = 'postgres' as const;
  readonly adapterName: string;

  constructor(
    private readonly inner: SqlDriverAdapter,
    private readonly pool: pg.Pool,
    private readonly onDispose: () => Promise<void> = async () => {},
  ) {
    this.adapterName = inner.adapterName;
  }

  async queryRaw(query: SqlQuery): Promise<SqlResultSet> {
    return withCharColumns(await this.inner.queryRaw(query));
  }

  executeRaw(query: SqlQuery): Promise<number> {
    return this.inner.executeRaw(query);
  }

  async startTransaction(isolationLevel?: IsolationLevel): Promise<Transaction> {
    return new CharAwareTransaction(await this.inner.startTransaction(isolationLevel));
  }

  getConnectionInfo(): ConnectionInfo {
    return this.inner.getConnectionInfo?.() ?? { supportsRelationJoins: true };
  }

  async executeScript(script: string): Promise<void> {
    try {
      await this.pool.query(script);
    } catch (error) {
      throw toAdapterError(error);
    }
  }

  async dispose(): Promise<void> {
    await this.inner.dispose();
    await this.onDispose();
  }
}

async function connectPg(url: string, onDispose?: () => Promise<void>): Promise<ScriptSafePgAdapter> {
  const pool = createPool(url);
  const inner = await new PrismaPg(pool, { disposeExternalPool: true }).connect();
  return new ScriptSafePgAdapter(inner, pool, onDispose);
}

/**
 * Migration-aware adapter factory for the WebAssembly schema engine, built on adapter-pg.
 * The shadow database is created on the same server and connected to by name (adapter-pg's own
 * shadow handling keeps the original connection string and drops the database while its pool is open).
 */
export class MigrationAwarePgFactory implements SqlMigrationAwareDriverAdapterFactory {
  readonly provider = 'postgres' as const;
  readonly adapterName = '@prisma/adapter-pg';
  private readonly open = new Set<SqlDriverAdapter>();

  constructor(private readonly url: string) {}

  async connect(): Promise<SqlDriverAdapter> {
    return this.track(await connectPg(this.url));
  }

  async connectToShadowDb(): Promise<SqlDriverAdapter> {
    const name = `prisma_migrate_shadow_db_${globalThis.crypto.randomUUID().replaceAll('-', '')}`;
    await this.admin(`CREATE DATABASE ${quoteIdent(name)}`);
    return this.track(
      await connectPg(withDatabase(this.url, name), async () => {
        await this.admin(`DROP DATABASE IF EXISTS ${quoteIdent(name)} WITH (FORCE)`);
      }),
    );
  }

  /** Disposes whatever adapters the engine left open (their pools would keep the process alive). */
  async close(): Promise<void> {
    const adapters = [...this.open];
    this.open.clear();
    await Promise.allSettled(adapters.map((a) => a.dispose()));
  }

  private track(adapter: SqlDriverAdapter): SqlDriverAdapter {
    const dispose = adapter.dispose.bind(adapter);
    let disposed = false;
    adapter.dispose = async () => {
      if (disposed) return;
      disposed = true;
      this.open.delete(adapter);
      await dispose();
    };
    this.open.add(adapter);
    return adapter;
  }

  private async admin(sql: string): Promise<void> {
    const client = new pg.Client({ connectionString: this.url });
    await client.connect();
    try {
      await client.query(sql);
    } catch (error) {
      throw toAdapterError(error);
    } finally {
      await client.end();
    }
  }
}
