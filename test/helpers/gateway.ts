import type { FastifyInstance } from 'fastify';
import { createGateway, type GatewayOptions } from '../../src/gateway/server.js';
import { createParallelixClient, type ParallelixClient } from '../../src/sdk/index.js';
import { createLogger } from '../../src/shared/logger.js';
import { startTestNetwork, type TestNetwork } from './network.js';
import { codecKeyFile, coordinatorKeyDir } from '../../src/codec/codec-key.js';

/** Starts a gateway on a free local port; returns its OpenAI base URL (`http://127.0.0.1:<port>/v1`). */
export async function listen(gateway: FastifyInstance): Promise<string> {
  await gateway.listen({ host: '127.0.0.1', port: 0 });
  const address = gateway.server.address();
  if (!address || typeof address === 'string') throw new Error('gateway has no port');
  return `http://127.0.0.1:${address.port}/v1`;
}

/** A whole test network (one operator, p = 0), the platform's SDK client on it, and an in-process gateway. */
export interface GatewayNetwork {
  network: TestNetwork;
  px: ParallelixClient;
  gateway: FastifyInstance;
  baseURL: string;
  stop(): Promise<void>;
}

export async function startGatewayNetwork(options: Omit<GatewayOptions, 'sdk' | 'db' | 'logger'> = {}): Promise<GatewayNetwork> {
  const network = await startTestNetwork({ policy: { sampleProbability: 0 }, operatorNames: ['alpha'] });
  const px = await createParallelixClient({
    address: network.temporal.server.address,
    namespace: network.temporal.server.namespace,
    codecKeyFile: codecKeyFile(coordinatorKeyDir(network.stateRoot)),
  });
  const gateway = createGateway({ sdk: px, db: network.db, logger: createLogger('gateway-test'), ...options });
  const baseURL = await listen(gateway);
  return {
    network,
    px,
    gateway,
    baseURL,
    async stop() {
      await gateway.close();
      await px.close();
      await network.stop();
    },
  };
}

/** A fetch that counts the HTTP requests a client sends (to see whether it retried). */
export function countingFetch(): { fetch: typeof fetch; calls: () => number } {
  let calls = 0;
  return {
    fetch: (input, init) => {
      calls += 1;
      return fetch(input, init);
    },
    calls: () => calls,
  };
}
