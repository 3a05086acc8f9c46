import { readMigrationsList, readSchema } from './migrations-dir.js';
import { openSchemaEngine } from './schema-engine.js';

const noFilter = { externalTables: [], externalEnums: [] };

/**
 * SQL that takes a database from `from` to the datamodel in prisma/schema.prisma (empty string when none
 * is needed). `from: 'migrations'` replays prisma/migrations on a temporary shadow database on the server
 * of `databaseUrl`: a non-empty result means the schema changed without a migration.
 * Create a new migration folder from `diffToSchema(url, 'migrations')` when the schema changes.
 */
export async function diffToSchema(databaseUrl: string, from: 'empty' | 'migrations'): Promise<string> {
  const schema = await readSchema();
  const { engine, close } = await openSchemaEngine(databaseUrl, schema);
  try {
    const result = await engine.diff({
      from: from === 'empty' ? { tag: 'empty' } : { tag: 'migrations', ...(await readMigrationsList()) },
      to: { tag: 'schemaDatamodel', files: [schema] },
      script: true,
      exitCode: null,
      filters: noFilter,
    });
    const sql = result.stdout ?? '';
    return sql.includes('This is an empty migration.') ? '' : sql;
  } finally {
    await close();
  }
}
