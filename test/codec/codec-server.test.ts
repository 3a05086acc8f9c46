import { randomBytes, createHash } from 'node:crypto';
import { defaultPayloadConverter } from '@temporalio/common';
import type { CodecKey } from '../../src/codec/codec-key.js';
import { startCodecServer, type CodecServer } from '../../src/codec/codec-server.js';
import { EncryptionCodec, ENCRYPTED_ENCODING } from '../../src/codec/encryption-codec.js';

const bytes = randomBytes(32);
const key: CodecKey = { id: createHash('sha256').update(bytes).digest('hex').slice(0, 16), key: bytes };
const token = randomBytes(24).toString('base64url');
const uiOrigin = 'http://127.0.0.1:18233';
let server: CodecServer;

beforeAll(async () => {
  server = await startCodecServer({ port: 0, key, token, uiOrigin });
});
afterAll(async () => {
  await server?.close();
});

function toWire(payloads: { metadata?: Record<string, Uint8Array> | null; data?: Uint8Array | null }[]) {
  return {
    payloads: payloads.map((p) => ({
      metadata: Object.fromEntries(Object.entries(p.metadata ?? {}).map(([k, v]) => [k, Buffer.from(v).toString('base64')])),
      data: Buffer.from(p.data ?? new Uint8Array()).toString('base64'),
    })),
  };
}

async function encryptedWire(value: unknown) {
  const [encrypted] = await new EncryptionCodec(key).encode([defaultPayloadConverter.toPayload(value)]);
  return toWire([encrypted!]);
}

function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return fetch(`${server.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-namespace': 'parallelix', ...headers }, body: JSON.stringify(body) });
}

test('/decode opens a real encrypted payload for a caller with the token', async () => {
  const secret = { prompt: 'What is the capital of France?' };
  const body = await encryptedWire(secret);
  expect(Buffer.from(body.payloads[0]!.metadata.encoding!, 'base64').toString()).toBe(ENCRYPTED_ENCODING);
  expect(JSON.stringify(body)).not.toContain(Buffer.from('capital').toString('base64').slice(0, 8));

  const response = await post('/decode', body, { authorization: `Bearer ${token}` });
  expect(response.status).toBe(200);
  const decoded = (await response.json()) as { payloads: { metadata: Record<string, string>; data: string }[] };
  const payload = decoded.payloads[0]!;
  expect(Buffer.from(payload.metadata.encoding!, 'base64').toString()).toBe('json/plain');
  expect(JSON.parse(Buffer.from(payload.data, 'base64').toString())).toEqual(secret);
});

test('/encode then /decode round-trips, and what /encode returns is ciphertext', async () => {
  const plain = toWire([defaultPayloadConverter.toPayload({ text: 'round trip' })]);
  const auth = { authorization: `Bearer ${token}` };
  const encoded = (await (await post('/encode', plain, auth)).json()) as typeof plain;
  expect(Buffer.from(encoded.payloads[0]!.data, 'base64').toString()).not.toContain('round trip');
  const decoded = (await (await post('/decode', encoded, auth)).json()) as typeof plain;
  expect(decoded).toEqual(plain);
});

test('401 without a token, with a wrong token, and with a wrong login', async () => {
  const body = await encryptedWire({ a: 1 });
  expect((await post('/decode', body)).status).toBe(401);
  expect((await post('/decode', body, { authorization: `Bearer ${token}x` })).status).toBe(401);
  expect((await post('/decode', body, { authorization: token })).status).toBe(401);
  expect((await post('/encode', body)).status).toBe(401);
  const login = await fetch(`${server.url}/login`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=nope' });
  expect(login.status).toBe(401);
});

test('a browser authorised through /login decodes with its cookie', async () => {
  const login = await fetch(`${server.url}/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ token }).toString(),
  });
  expect(login.status).toBe(200);
  const cookie = login.headers.get('set-cookie') ?? '';
  expect(cookie).toMatch(/HttpOnly/);
  expect(cookie).toMatch(/SameSite=Strict/);
  const response = await post('/decode', await encryptedWire({ b: 2 }), { cookie: cookie.split(';')[0]!, origin: uiOrigin });
  expect(response.status).toBe(200);
  expect(response.headers.get('access-control-allow-origin')).toBe(uiOrigin);
  expect(response.headers.get('access-control-allow-credentials')).toBe('true');
});

test('CORS preflight: allowed from the Web UI origin, not from another origin', async () => {
  const preflight = (origin: string) =>
    fetch(`${server.url}/decode`, {
      method: 'OPTIONS',
      headers: { origin, 'access-control-request-method': 'POST', 'access-control-request-headers': 'content-type,x-namespace,authorization' },
    });
  const allowed = await preflight(uiOrigin);
  expect(allowed.status).toBeLessThan(300);
  expect(allowed.headers.get('access-control-allow-origin')).toBe(uiOrigin);
  const allowedHeaders = (allowed.headers.get('access-control-allow-headers') ?? '').toLowerCase();
  for (const h of ['x-namespace', 'content-type', 'authorization']) expect(allowedHeaders).toContain(h);

  const other = await preflight('http://evil.example');
  expect(other.headers.get('access-control-allow-origin')).toBeNull();
  const otherPost = await post('/decode', await encryptedWire({ c: 3 }), { authorization: `Bearer ${token}`, origin: 'http://evil.example' });
  expect(otherPost.headers.get('access-control-allow-origin')).toBeNull();
});

test('nothing a caller sends or receives reaches the process output, at the most verbose log level', async () => {
  const { spawn } = await import('node:child_process');
  const path = await import('node:path');
  const { base64Forms } = await import('../helpers/history.js');
  const secret = 'the secret prompt about Lyon';
  const env: NodeJS.ProcessEnv = { ...process.env, PARALLELIX_CODEC_KEY: bytes.toString('base64'), PARALLELIX_CODEC_TOKEN: token, PARALLELIX_LOG_LEVEL: 'trace' };
  delete env.NODE_OPTIONS;
  const child = spawn(process.execPath, ['--import', 'tsx', path.join('test', 'fixtures', 'codec-server-process.ts')], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise((resolve) => child.once('exit', resolve));
  try {
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`codec server did not start:\n${output}`)), 30_000);
      child.stdout.on('data', () => {
        const match = /codec server on (\S+)/.exec(output);
        if (match) {
          clearTimeout(timer);
          resolve(match[1]!);
        }
      });
    });
    const auth = { 'content-type': 'application/json', authorization: `Bearer ${token}` };
    const call = (route: string, body: unknown, headers: Record<string, string> = auth) =>
      fetch(`${url}${route}`, { method: 'POST', headers, body: JSON.stringify(body) });
    expect((await call('/decode', await encryptedWire({ prompt: secret }))).status).toBe(200);
    expect((await call('/encode', toWire([defaultPayloadConverter.toPayload({ prompt: secret })]))).status).toBe(200);
    expect((await call('/decode', { payloads: secret })).status).toBe(400); // malformed: the refusal echoes nothing
    expect((await call('/decode', await encryptedWire({ prompt: secret }), { 'content-type': 'application/json' })).status).toBe(401);
    const tampered = await encryptedWire({ prompt: secret });
    tampered.payloads[0]!.data = Buffer.from(`${secret}${secret}`).toString('base64');
    expect((await call('/decode', tampered)).status).toBe(400);
  } finally {
    child.kill('SIGTERM');
    await exited;
  }
  expect(output).toMatch(/codec server on/);
  expect(output).not.toContain(secret);
  for (const form of base64Forms(secret)) expect(output).not.toContain(form);
  expect(output).not.toContain(token);
}, 60_000);
