import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { ConfigError } from '../../src/shared/errors.js';
import { temporalConnectionSecurity } from '../../src/temporal/connection-security.js';

let dir: string;
beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'px-tls-'));
  for (const name of ['ca.pem', 'client.pem', 'client.key']) writeFileSync(path.join(dir, name), `-----BEGIN ${name}-----\n`);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test('nothing set: plaintext, as the local servers speak', () => {
  expect(temporalConnectionSecurity({})).toEqual({});
});

test('an API key implies TLS (Temporal Cloud)', () => {
  expect(temporalConnectionSecurity({ PARALLELIX_TEMPORAL_API_KEY: 'k' })).toEqual({ tls: true, apiKey: 'k' });
});

test('mTLS: CA, client pair and server name from files', () => {
  const security = temporalConnectionSecurity({
    PARALLELIX_TEMPORAL_TLS_CA: path.join(dir, 'ca.pem'),
    PARALLELIX_TEMPORAL_TLS_CERT: path.join(dir, 'client.pem'),
    PARALLELIX_TEMPORAL_TLS_KEY: path.join(dir, 'client.key'),
    PARALLELIX_TEMPORAL_TLS_SERVER_NAME: 'frontend.internal',
  });
  expect(security.tls).toMatchObject({ serverNameOverride: 'frontend.internal' });
  const tls = security.tls as { serverRootCACertificate: Buffer; clientCertPair: { crt: Buffer; key: Buffer } };
  expect(tls.serverRootCACertificate.toString()).toContain('ca.pem');
  expect(tls.clientCertPair.key.toString()).toContain('client.key');
});

test('contradictions and unreadable files are configuration errors naming the variable', () => {
  expect(() => temporalConnectionSecurity({ PARALLELIX_TEMPORAL_TLS_CERT: path.join(dir, 'client.pem') })).toThrow(ConfigError);
  expect(() => temporalConnectionSecurity({ PARALLELIX_TEMPORAL_TLS: 'false', PARALLELIX_TEMPORAL_API_KEY: 'k' })).toThrow(ConfigError);
  expect(() => temporalConnectionSecurity({ PARALLELIX_TEMPORAL_TLS_CA: path.join(dir, 'missing.pem') })).toThrow('PARALLELIX_TEMPORAL_TLS_CA');
});
