import { pino, type Logger } from 'pino';

/**
 * Structured logger. JSON lines on stderr; level from PARALLELIX_LOG_LEVEL (default info).
 * Never log prompts, results or key material: log ids and sizes instead.
 */
export function createLogger(component: string): Logger {
  return pino(
    { name: component, level: process.env.PARALLELIX_LOG_LEVEL ?? 'info', base: { component } },
    pino.destination(2),
  );
}

export type { Logger };
