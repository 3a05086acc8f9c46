import { Agent, request } from 'undici';

/**
 * The `fetch` viem's HTTP transport calls, made with undici's request API instead of the WHATWG fetch: the same
 * keep-alive connections without fetch's streams and Request/Response objects. A JSON-RPC call costs about half
 * the CPU (0.7 against 1.4 ms on a 2-core machine), and anchoring a record makes four or five of them.
 * Only what viem reads of a response is built: status, headers and the body as text.
 */
export function rpcFetch(): typeof fetch {
  const dispatcher = new Agent();
  const rpcFetch = async (url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const response = await request(String(url), {
      dispatcher,
      method: (init?.method ?? 'POST') as 'POST',
      headers: init?.headers as Record<string, string> | undefined,
      body: init?.body as string | undefined,
      signal: init?.signal ?? undefined,
    });
    const text = await response.body.text();
    const headers = new Headers();
    for (const [name, value] of Object.entries(response.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const ok = response.statusCode >= 200 && response.statusCode < 300;
    return { ok, status: response.statusCode, statusText: '', headers, body: null, text: async () => text } as unknown as Response;
  };
  return rpcFetch as typeof fetch;
}
