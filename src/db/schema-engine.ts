import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as glue from '@prisma/schema-engine-wasm/schema_engine_bg';
import type { SchemaEngine } from '@prisma/schema-engine-wasm/schema_engine_bg';
import { bindMigrationAwareSqlAdapterFactory } from '@prisma/driver-adapter-utils';
import { createLogger } from '../shared/logger.js';
import { MigrationAwarePgFactory } from './migration-adapter.js';

export type { SchemaEngine };

const log = createLogger('schema-engine');

/** What a Rust panic inside the wasm reports through the glue (it expects this global). */
interface PanicRegistry {
  set_message(message: string): void;
}

/** Node's WebAssembly global; the project's lib settings (no DOM) do not declare it. */
interface WasmInstance {
  exports: Record<string, unknown>;
}
declare const WebAssembly: {
  compile(bytes: Uint8Array): Promise<object>;
  instantiate(module: object, imports: Record<string, Record<string, unknown>>): Promise<WasmInstance>;
};

let loaded: Promise<void> | undefined;

/**
 * The package entry imports the .wasm file as an ES module, which Node 20 cannot do, so the wasm is
 * instantiated here against the package's JS glue. Done once per process (the glue holds module state).
 */
function loadWasm(): Promise<void> {
  loaded ??= (async () => {
    const g = globalThis as typeof globalThis & { PRISMA_WASM_PANIC_REGISTRY?: PanicRegistry };
    g.PRISMA_WASM_PANIC_REGISTRY ??= {
      set_message: (message: string) => log.error({ message }, 'schema engine panicked'),
    };
    const require = createRequire(import.meta.url);
    const wasmPath = path.join(
      path.dirname(require.resolve('@prisma/schema-engine-wasm/schema_engine_bg')),
      'schema_engine_bg.wasm',
    );
    // The engine arms timers it never clears (~10 s); unref them so they cannot keep the process alive.
    const imports: Record<string, unknown> = { ...glue };
    for (const [name, fn] of Object.entries(glue)) {
      if (name.startsWith('__wbg_setTimeout_') && typeof fn === 'function') {
        imports[name] = (callback: () => void, ms: number) => {
          const timer = setTimeout(callback, ms >>> 0);
          timer.unref();
          return timer;
        };
      }
    }
    const module = await WebAssembly.compile(await readFile(wasmPath));
    const instance = await WebAssembly.instantiate(module, { './schema_engine_bg.js': imports });
    glue.__wbg_set_wasm(instance.exports);
    (instance.exports.__wbindgen_start as () => void)();
  })();
  return loaded;
}

export interface OpenedSchemaEngine {
  engine: SchemaEngine;
  /** Frees the engine and closes every connection pool it opened. */
  close(): Promise<void>;
}

/**
 * Opens the WebAssembly schema engine against a PostgreSQL database through adapter-pg.
 * `schema` (Prisma schema text) is only needed for commands that read the datamodel.
 */
export async function openSchemaEngine(
  databaseUrl: string,
  schema?: { path: string; content: string },
): Promise<OpenedSchemaEngine> {
  await loadWasm();
  const factory = new MigrationAwarePgFactory(databaseUrl);
  const onLog = (line: string) => log.debug({ engine: line }, 'schema engine log');
  let engine: SchemaEngine;
  try {
    engine = await glue.SchemaEngine.new(
      { datamodels: schema ? [[schema.path, schema.content]] : undefined },
      onLog,
      bindMigrationAwareSqlAdapterFactory(factory),
    );
  } catch (error) {
    await factory.close();
    throw error;
  }
  return {
    engine,
    close: async () => {
      engine.free();
      await factory.close();
    },
  };
}
