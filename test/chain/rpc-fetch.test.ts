/**
 * viem's HTTP transport through rpcFetch (undici's request API) behaves as through fetch: results, JSON-RPC errors
 * with their revert data, HTTP errors, a server that never answers (timeout, the request aborted) and a closed port.
 * Anchoring itself runs through it against anvil in registry.test.ts and the pipeline tests.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createPublicClient, http as httpTransport, HttpRequestError, RpcRequestError, TimeoutError, type PublicClient } from 'viem';
import { rpcFetch } from '../../src/chain/rpc-fetch.js';
import { toChainError } from '../../src/chain/clients.js';
import { ChainUnavailableError } from '../../src/chain/errors.js';

type Reply = (body: { id: number; method: string }, res: http.ServerResponse) => void;
let reply: Reply;
let server: http.Server;
let url: string;
const hanging = new Set<http.ServerResponse>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (chunk: Buffer) => (raw += chunk.toString()));
    req.on('end', () => reply(JSON.parse(raw) as { id: number; method: string }, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  for (const res of hanging) res.destroy();
  server.closeAllConnections();
  await new Promise((resolve) => server.close(resolve));
});

function client(target = url): PublicClient {
  return createPublicClient({ transport: httpTransport(target, { fetchFn: rpcFetch(), timeout: 500, retryCount: 0 }) });
}

const json = (res: http.ServerResponse, status: number, body: unknown): void => {
  res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body));
};

test('a result comes back as fetch would give it, over kept-alive connections', async () => {
  const sockets = new Set<unknown>();
  reply = (body, res) => {
    sockets.add(res.socket);
    json(res, 200, { jsonrpc: '2.0', id: body.id, result: '0x7a69' });
  };
  const c = client();
  for (let i = 0; i < 20; i++) await expect(c.getChainId()).resolves.toBe(31337);
  // Kept alive: 20 calls over at most two connections (Node's fetch opens two here too), not one each.
  expect(sockets.size).toBeLessThanOrEqual(2);
});

test('a JSON-RPC error keeps its code, message and revert data', async () => {
  reply = (body, res) => json(res, 200, { jsonrpc: '2.0', id: body.id, error: { code: 3, message: 'execution reverted', data: '0xdeadbeef' } });
  const error = await client().request({ method: 'eth_call', params: [{ to: '0x0000000000000000000000000000000000000001', data: '0x' }, 'latest'] }).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(Error);
  const rpc = (error as { walk(f: (e: unknown) => boolean): unknown }).walk((e) => e instanceof RpcRequestError) as RpcRequestError;
  expect(rpc).toBeInstanceOf(RpcRequestError);
  expect([rpc.code, (rpc.cause as { data?: string } | undefined)?.data ?? (rpc as unknown as { data?: string }).data]).toEqual([3, '0xdeadbeef']);
});

test('an HTTP error, a server that never answers and a closed port are the chain unavailable (retryable)', async () => {
  reply = (_body, res) => res.writeHead(502, { 'content-type': 'text/plain' }).end('bad gateway');
  const bad = await client().getChainId().catch((e: unknown) => e);
  expect((bad as { walk(f: (e: unknown) => boolean): unknown }).walk((e) => e instanceof HttpRequestError)).toBeInstanceOf(HttpRequestError);
  expect(toChainError(bad, 'read')).toBeInstanceOf(ChainUnavailableError);

  reply = (_body, res) => {
    hanging.add(res);
  };
  const started = Date.now();
  const slow = await client().getChainId().catch((e: unknown) => e);
  expect(Date.now() - started).toBeLessThan(5_000);
  expect((slow as { walk(f: (e: unknown) => boolean): unknown }).walk((e) => e instanceof TimeoutError)).toBeInstanceOf(TimeoutError);
  expect(toChainError(slow, 'read')).toBeInstanceOf(ChainUnavailableError);

  const closed = http.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise((resolve) => closed.close(resolve));
  const refused = await client(`http://127.0.0.1:${port}`).getChainId().catch((e: unknown) => e);
  expect(toChainError(refused, 'read')).toBeInstanceOf(ChainUnavailableError);
});
