// Generates the build artifacts that are not committed: the Prisma client (src/generated/prisma) and the
// compiled registry contract with its ABI module (contracts/out). Runs after `npm install` / `npm ci`, and again before tests.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const steps = [
  ['Prisma client', [process.execPath, path.join(root, 'scripts', 'prisma-generate.mjs')]],
  ['registry contract', [process.execPath, '--import', 'tsx', path.join(root, 'scripts', 'compile-contracts.ts')]],
];
for (const [label, [command, ...args]] of steps) {
  console.log(`[parallelix] generating ${label}`);
  const result = spawnSync(command, args, { cwd: root, stdio: 'inherit' });
  if (result.status !== 0) {
    console.error(`[parallelix] generating ${label} failed (exit ${result.status ?? result.signal})`);
    process.exit(1);
  }
}
