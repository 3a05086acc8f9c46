import type { FastifyInstance, FastifyRequest } from 'fastify';
import { Counter, Histogram, type Registry } from 'prom-client';

/**
 * HTTP request counts and durations of a Fastify app by route pattern (never the raw URL: bounded labels), method
 * and status. For streamed answers the duration runs until the stream ends.
 */
export function registerHttpMetrics(app: FastifyInstance, registry: Registry, prefix = 'parallelix_http'): void {
  const registers = [registry];
  const requests = new Counter({
    name: `${prefix}_requests_total`,
    help: 'HTTP requests by route, method and status code',
    labelNames: ['route', 'method', 'status'] as const,
    registers,
  });
  const duration = new Histogram({
    name: `${prefix}_request_duration_seconds`,
    help: 'HTTP request durations by route and method (streams: until the last byte)',
    labelNames: ['route', 'method'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
    registers,
  });
  const started = new WeakMap<FastifyRequest, bigint>();
  app.addHook('onRequest', async (request) => {
    started.set(request, process.hrtime.bigint());
  });
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    requests.inc({ route, method: request.method, status: String(reply.statusCode) });
    const from = started.get(request);
    if (from !== undefined) duration.observe({ route, method: request.method }, Number(process.hrtime.bigint() - from) / 1e9);
  });
}
