import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, linkSync, mkdirSync, readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * The contents of a secret file (mode 0600, folder 0700), created once from `create()` when missing. The new file
 * is written privately and hard-linked into place, so processes starting at once agree on one value and none reads
 * a half-written file.
 */
export function readOrCreateSecretFile(file: string, create: () => string): string {
  if (!existsSync(file)) {
    mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const temp = `${file}.${randomBytes(6).toString('hex')}.tmp`;
    writeFileSync(temp, create(), { mode: 0o600, flag: 'wx' });
    try {
      linkSync(temp, file);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error; // another process won the race
    } finally {
      unlinkSync(temp);
    }
  }
  chmodSync(file, 0o600);
  return readFileSync(file, 'utf8');
}
