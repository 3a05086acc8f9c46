import { readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { projectRoot } from '../shared/paths.js';

const searchAttributeType = z.enum(['Text', 'Keyword', 'Int', 'Double', 'Bool', 'Datetime', 'KeywordList']);

const devServerConfigSchema = z.object({
  cliModule: z.string(),
  cliVersion: z.string().regex(/^v\d+\.\d+\.\d+$/),
  namespace: z.string().min(1),
  searchAttributes: z.record(z.string().regex(/^[A-Za-z][A-Za-z0-9]*$/), searchAttributeType),
  dynamicConfig: z.record(z.string(), z.union([z.string(), z.number(), z.boolean()])),
  sqlitePragmas: z.record(z.string(), z.string()),
  defaultPorts: z.object({ grpc: z.number().int(), ui: z.number().int() }),
});

export type DevServerConfig = z.infer<typeof devServerConfigSchema>;

/** The dev-server configuration committed in `temporal/dev-server.json`. */
export function loadDevServerConfig(): DevServerConfig {
  const file = path.join(projectRoot, 'temporal', 'dev-server.json');
  return devServerConfigSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
}
