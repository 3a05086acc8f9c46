import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { ProvisioningError } from '../shared/errors.js';

export interface MetricsServer {
  /** e.g. http://127.0.0.1:9464/metrics */
  url: string;
  port: number;
  close(): Promise<void>;
}

/**
 * Serves `GET /metrics` in the Prometheus text format: this process's registry, followed by each `upstream`
 * exposition (the Temporal SDK's own exporter, bound to a private port) so one port per process carries both.
 */
export async function startMetricsServer(options: { registry: Registry; host: string; port: number; upstream?: string[] }): Promise<MetricsServer> {
  const server: Server = createServer((request, response) => {
    if (request.method !== 'GET' || request.url?.split('?')[0] !== '/metrics') {
      response.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try GET /metrics\n');
      return;
    }
    void (async () => {
      const parts = [await options.registry.metrics()];
      for (const url of options.upstream ?? []) {
        // An upstream that does not answer leaves its metrics out of this scrape instead of failing it.
        const text = await fetch(url, { signal: AbortSignal.timeout(2_000) }).then((r) => (r.ok ? r.text() : ''), () => '');
        if (text) parts.push(text);
      }
      response.writeHead(200, { 'content-type': options.registry.contentType }).end(parts.map((p) => p.trimEnd()).join('\n') + '\n');
    })().catch((error: unknown) => {
      response.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${String(error)}\n`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (error: NodeJS.ErrnoException) =>
      reject(
        error.code === 'EADDRINUSE'
          ? new ProvisioningError(`Port ${options.port} (metrics) is already in use`, { details: 'Choose another with PARALLELIX_METRICS_PORT (0 picks a free one).' })
          : error,
      ),
    );
    server.listen(options.port, options.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const host = options.host.includes(':') ? `[${options.host}]` : options.host;
  return {
    url: `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}/metrics`,
    port,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}
