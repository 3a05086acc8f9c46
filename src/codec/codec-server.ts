import cors from '@fastify/cors';
import type { Payload } from '@temporalio/common';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { CodecKey } from './codec-key.js';
import type { KeyPair } from '../crypto/identity.js';
import { EncryptionCodec } from './encryption-codec.js';
import { tokenMatches } from './codec-token.js';

/**
 * Codec server for the Temporal Web UI and CLI (Temporal's remote codec protocol): `POST /decode` and
 * `POST /encode` take and return `{ payloads: [{ metadata: { key: base64 }, data: base64 }] }`.
 *
 * Anyone who can call /decode reads every prompt and result, so each call needs the access token: as
 * `Authorization: Bearer <token>` (Temporal CLI `--codec-auth`, scripts), or as the HttpOnly cookie that
 * `POST /login` sets for a browser (the Web UI's "include cross-origin credentials" setting).
 * CORS admits the Web UI's origin only. Nothing is logged: payloads never reach a log line.
 */
export interface CodecServerOptions {
  /** 0 picks a free port. */
  port: number;
  /** Default 127.0.0.1. */
  host?: string;
  key: CodecKey;
  /** Keys of earlier rotations, still accepted for decoding. */
  previousKeys?: CodecKey[];
  /** The coordinator's box key pair: opens what operators sealed to the coordinator (their failures, heartbeats). */
  coordinatorBox?: KeyPair;
  token: string;
  /** Origin(s) of the Temporal Web UI, e.g. `http://127.0.0.1:8233`. */
  uiOrigin: string | string[];
}

export interface CodecServer {
  /** `http://host:port`: what `--ui-codec-endpoint` and `--codec-endpoint` take. */
  url: string;
  port: number;
  close(): Promise<void>;
}

export const CODEC_COOKIE = 'parallelix_codec';
const BODY_LIMIT = 64 * 1024 * 1024;

const wirePayloads = z.object({
  payloads: z.array(z.object({ metadata: z.record(z.string(), z.string()).nullish(), data: z.string().nullish() })),
});
type WirePayloads = z.infer<typeof wirePayloads>;

function fromWire(body: WirePayloads): Payload[] {
  return body.payloads.map((p) => ({
    metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64')])),
    data: Buffer.from(p.data ?? '', 'base64'),
  }));
}

function toWire(payloads: Payload[]): { payloads: { metadata: Record<string, string>; data: string }[] } {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v ?? new Uint8Array()).toString('base64')])),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  };
}

function cookieToken(request: FastifyRequest): string | undefined {
  for (const part of (request.headers.cookie ?? '').split(';')) {
    const [name, ...value] = part.trim().split('=');
    if (name === CODEC_COOKIE) return decodeURIComponent(value.join('='));
  }
  return undefined;
}

function presentedToken(request: FastifyRequest): string | undefined {
  const header = request.headers.authorization;
  if (header) {
    const match = /^Bearer\s+(.+)$/i.exec(header.trim());
    return match?.[1];
  }
  return cookieToken(request);
}

const LOGIN_PAGE = `<!doctype html><meta charset="utf-8"><title>ParalleliX codec server</title>
<body style="font-family:sans-serif;max-width:40em;margin:3em auto">
<h1>ParalleliX codec server</h1>
<p>Paste the codec access token (<code>&lt;state&gt;/coordinator/codec-token</code> or <code>PARALLELIX_CODEC_TOKEN</code>).
This browser then keeps it as an HttpOnly cookie for this server; in the Temporal Web UI's codec server settings,
enable <em>Include cross-origin credentials</em>.</p>
<form method="post" action="/login"><input name="token" type="password" size="50" autofocus> <button>Authorise</button></form>
</body>`;

/** The Fastify app (not listening): `startCodecServer` serves it; tests may `inject` into it. */
export async function buildCodecServer(options: Omit<CodecServerOptions, 'port' | 'host'>): Promise<FastifyInstance> {
  const codec = new EncryptionCodec(options.key, options.previousKeys ?? [], options.coordinatorBox);
  const app = Fastify({ logger: false, bodyLimit: BODY_LIMIT });
  await app.register(cors, {
    origin: Array.isArray(options.uiOrigin) ? options.uiOrigin : [options.uiOrigin],
    methods: ['POST'],
    allowedHeaders: ['x-namespace', 'content-type', 'authorization'],
    credentials: true,
    maxAge: 600,
  });
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    done(null, Object.fromEntries(new URLSearchParams(String(body))));
  });

  const requireToken = async (request: FastifyRequest, reply: FastifyReply): Promise<void> => {
    if (!tokenMatches(presentedToken(request), options.token)) {
      await reply.code(401).header('www-authenticate', 'Bearer').send({ error: 'unauthorized' });
    }
  };
  const convert = (direction: 'encode' | 'decode') => async (request: FastifyRequest, reply: FastifyReply) => {
    const parsed = wirePayloads.safeParse(request.body);
    if (!parsed.success) return reply.code(400).send({ error: 'expected { payloads: [{ metadata, data }] }' });
    try {
      const out = direction === 'decode' ? await codec.decode(fromWire(parsed.data)) : await codec.encode(fromWire(parsed.data));
      return reply.send(toWire(out));
    } catch {
      // Wrong key or a tampered payload: say so without echoing anything of it.
      return reply.code(400).send({ error: `could not ${direction} the payloads` });
    }
  };
  app.post('/decode', { preHandler: requireToken }, convert('decode'));
  app.post('/encode', { preHandler: requireToken }, convert('encode'));
  // Temporal CLI's `--codec-endpoint` may template the namespace into the path.
  app.post('/:namespace/decode', { preHandler: requireToken }, convert('decode'));
  app.post('/:namespace/encode', { preHandler: requireToken }, convert('encode'));

  app.get('/login', async (_request, reply) => reply.type('text/html; charset=utf-8').send(LOGIN_PAGE));
  app.post('/login', async (request, reply) => {
    const token = (request.body as { token?: unknown } | undefined)?.token;
    if (typeof token !== 'string' || !tokenMatches(token, options.token)) {
      return reply.code(401).type('text/plain').send('wrong token');
    }
    // SameSite=Strict still reaches the codec server from the UI on the same host (ports do not make another site).
    reply.header('set-cookie', `${CODEC_COOKIE}=${encodeURIComponent(token)}; HttpOnly; SameSite=Strict; Path=/; Max-Age=2592000`);
    return reply.type('text/plain').send('authorised: this browser can now decode payloads in the Temporal Web UI');
  });
  app.get('/healthz', async () => ({ ok: true }));
  return app;
}

/** Starts the codec server on host:port. */
export async function startCodecServer(options: CodecServerOptions): Promise<CodecServer> {
  const app = await buildCodecServer(options);
  const host = options.host ?? '127.0.0.1';
  await app.listen({ port: options.port, host });
  const address = app.server.address();
  const port = address && typeof address === 'object' ? address.port : options.port;
  return { url: `http://${host}:${port}`, port, close: () => app.close() };
}
