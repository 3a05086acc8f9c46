#!/usr/bin/env node
/**
 * Generates the Prisma client (prisma/schema.prisma -> src/generated/prisma) offline.
 * Every Prisma CLI command first makes sure a native schema-engine binary is present and downloads it when
 * missing; `generate` never runs it, so PRISMA_SCHEMA_ENGINE_BINARY points at an existing file to skip that.
 * Skips when the output matches the schema and Prisma version (pass --force to regenerate).
 * Usage: node scripts/prisma-generate.mjs [--force]   (also importable: generatePrismaClient({ force }))
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const schema = path.join(root, 'prisma', 'schema.prisma');
const output = path.join(root, 'src', 'generated', 'prisma');
const stamp = path.join(output, '.generated-from');

function say(message) {
  console.log(`[prisma-generate] ${message}`);
}

export function generatePrismaClient({ force = false } = {}) {
  const require = createRequire(import.meta.url);
  const cli = require.resolve('prisma/build/index.js');
  const version = require('prisma/package.json').version;
  const fingerprint = createHash('sha256').update(version).update('\0').update(readFileSync(schema)).digest('hex');

  if (!force && existsSync(path.join(output, 'client.ts')) && existsSync(stamp)) {
    if (readFileSync(stamp, 'utf8').trim() === fingerprint) {
      say(`client in ${path.relative(root, output)} is up to date (prisma ${version}); nothing to do`);
      return { generated: false };
    }
  }

  say(`generating the Prisma client (prisma ${version}) from ${path.relative(root, schema)}`);
  const engine = process.env.PRISMA_SCHEMA_ENGINE_BINARY;
  const env = {
    ...process.env,
    PRISMA_SCHEMA_ENGINE_BINARY: engine && existsSync(engine) ? engine : schema,
    CHECKPOINT_DISABLE: '1',
    PRISMA_HIDE_UPDATE_MESSAGE: '1',
  };
  const result = spawnSync(process.execPath, [cli, 'generate', '--schema', schema], {
    cwd: root,
    env,
    stdio: 'inherit',
  });
  if (result.status !== 0) {
    throw new Error(`prisma generate failed (exit ${result.status ?? result.signal})`);
  }
  writeFileSync(stamp, `${fingerprint}\n`);
  say(`wrote ${path.relative(root, output)}`);
  return { generated: true };
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    generatePrismaClient({ force: process.argv.includes('--force') });
  } catch (error) {
    console.error(`[prisma-generate] ${error instanceof Error ? error.message : String(error)}`);
    process.exit(1);
  }
}
