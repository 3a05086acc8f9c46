import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

/**
 * A started process tells the one that started it that it is ready by writing a JSON file at a path the parent
 * chose (written once, atomically): sturdier than a sentence in its output, which stays for people to read.
 */
export function writeReadyFile(file: string, info: object): void {
  mkdirSync(path.dirname(file), { recursive: true });
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(info)}\n`);
  renameSync(tmp, file);
}

/** The ready file's content once it exists; undefined when `ended()` turns true or the deadline passes first. */
export async function waitForReadyFile<T>(file: string, options: { ended: () => boolean; deadline: number }): Promise<T | undefined> {
  for (;;) {
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    if (options.ended() || Date.now() > options.deadline) return undefined;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}
