import type { FastifyReply } from 'fastify';
import type { RequestHandle, RequestProgress } from '../sdk/index.js';
import { sseData } from './chat-response.js';
import { textPieces } from './text-pieces.js';

export interface VerifiedTextStream {
  /** The run's progress once its text is available: request id and the node that ran it. */
  progress: RequestProgress;
  /** The verified text in token-sized pieces. */
  pieces: AsyncIterable<string>;
}

/**
 * Waits for the run's verified text (it exists only after steps 10–12) before anything is answered, so a refusal
 * (402, 400, 503, …) still gets its HTTP status; then yields it in token-sized pieces.
 */
export async function verifiedTextStream(handle: RequestHandle): Promise<VerifiedTextStream> {
  const iterator = handle.stream()[Symbol.asyncIterator]();
  const first = await iterator.next();
  const progress = await handle.status();
  async function* pieces(): AsyncGenerator<string> {
    for (let step = first; !step.done; step = await iterator.next()) yield* textPieces(step.value);
  }
  return { progress, pieces: pieces() };
}

export interface SseWriter {
  /** False once the client left: further sends are dropped. */
  readonly open: boolean;
  send(payload: unknown, event?: string): void;
  end(): void;
}

/**
 * Takes over the reply as a server-sent event stream, keeping the headers already set on it (x-request-id, CORS,
 * rate limits). A disconnect only stops the writing: the run is paid for and completes.
 */
export function openSse(reply: FastifyReply, headers: Record<string, string>): SseWriter {
  reply.hijack();
  const raw = reply.raw;
  let open = !raw.destroyed && raw.socket !== null && !raw.socket.destroyed;
  raw.on('close', () => {
    open = false;
  });
  if (open) {
    const kept = Object.fromEntries(Object.entries(reply.getHeaders()).filter((entry): entry is [string, string | number | string[]] => entry[1] !== undefined));
    raw.writeHead(200, { ...kept, 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', ...headers });
  }
  return {
    get open() {
      return open;
    },
    send(payload, event) {
      if (open) raw.write(sseData(payload, event));
    },
    end() {
      if (open) raw.end();
    },
  };
}
