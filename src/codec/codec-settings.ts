import { z } from 'zod';
import { ConfigError } from '../shared/errors.js';
import { parseEnv } from '../shared/parse-env.js';

export interface CodecServerSettings {
  port: number;
  /** Extra Web UI origins allowed by CORS (PARALLELIX_CODEC_UI_ORIGINS, comma separated). */
  extraOrigins: string[];
}

const schema = z.object({
  PARALLELIX_CODEC_PORT: z.coerce.number().int().min(0).max(65535).default(8081),
  PARALLELIX_CODEC_UI_ORIGINS: z.string().optional(),
});

/** Codec server settings from the environment: port PARALLELIX_CODEC_PORT (default 8081). */
export function loadCodecServerSettings(env: NodeJS.ProcessEnv = process.env): CodecServerSettings {
  const settings = parseEnv(schema, env, 'codec server');
  const extraOrigins = (settings.PARALLELIX_CODEC_UI_ORIGINS ?? '').split(',').map((o) => o.trim()).filter(Boolean);
  for (const origin of extraOrigins) {
    if (!/^https?:\/\/[^/\s]+$/.test(origin)) throw new ConfigError(`PARALLELIX_CODEC_UI_ORIGINS: ${origin} is not an origin (scheme://host[:port])`);
  }
  return { port: settings.PARALLELIX_CODEC_PORT, extraOrigins };
}
