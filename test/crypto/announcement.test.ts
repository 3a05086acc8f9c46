import { signAnnouncement, verifyAnnouncement, type OperatorCapabilities } from '../../src/crypto/announcement.js';
import { canonicalJson } from '../../src/crypto/canonical-json.js';
import { createIdentity, publicIdentity, signDetached } from '../../src/crypto/identity.js';
import { InvalidAnnouncementError } from '../../src/crypto/errors.js';

const capabilities: OperatorCapabilities = {
  models: ['tiny-random-LlamaForCausalLM-fp16'],
  dtype: 'fp16',
  device: 'cpu',
  maxContextTokens: 2048,
  maxNewTokens: 256,
  concurrency: 1,
};

describe('operator announcement', () => {
  const node = createIdentity();

  test('a signed announcement verifies, also after a JSON round trip with reordered keys', () => {
    const signed = signAnnouncement(node, capabilities);
    const reordered = JSON.parse(
      JSON.stringify(
        Object.fromEntries(
          Object.entries(signed)
            .reverse()
            .map(([k, v]) => [k, k === 'capabilities' ? Object.fromEntries(Object.entries(v as object).reverse()) : v]),
        ),
      ),
    ) as unknown;
    expect(JSON.stringify(reordered)).not.toBe(JSON.stringify(signed));
    const verified = verifyAnnouncement(reordered);
    expect(verified.nodeId).toBe(node.nodeId);
    expect(verified).not.toHaveProperty('signature');
    expect(verified.boxPublicKey).toBe(publicIdentity(node).boxPublicKey);
  });

  test('altered fields or a foreign signature are rejected', () => {
    const signed = signAnnouncement(node, capabilities);
    const expectInvalid = (value: unknown) => expect(() => verifyAnnouncement(value)).toThrow(InvalidAnnouncementError);
    expectInvalid({ ...signed, capabilities: { ...capabilities, maxContextTokens: 4096 } });
    expectInvalid({ ...signed, boxPublicKey: publicIdentity(createIdentity()).boxPublicKey });
    expectInvalid({ ...signed, signature: signAnnouncement(createIdentity(), capabilities).signature });
    expectInvalid({ ...signed, signature: '' });
    expectInvalid({ ...signed, extra: 1 });
    expectInvalid(null);
  });

  test('nodeId must derive from the signing key, even with a valid signature', () => {
    const attacker = createIdentity();
    // Attacker claims the victim's node id and signs correctly with its own key.
    const forged = signAnnouncement({ ...attacker, nodeId: node.nodeId }, capabilities);
    expect(() => verifyAnnouncement(forged)).toThrow(/does not derive/);
  });

  test('signature must cover the canonical encoding', () => {
    const signed = signAnnouncement(node, capabilities);
    const { signature: _ignored, ...unsigned } = signed;
    // A signature over plain canonical JSON (no domain prefix) is not accepted.
    const wrongDomain = { ...signed, signature: signDetached(canonicalJson(unsigned), node.sign.secretKey) };
    expect(() => verifyAnnouncement(wrongDomain)).toThrow(InvalidAnnouncementError);
  });

  test('time window', () => {
    const old = signAnnouncement(node, capabilities, new Date('2020-01-01T00:00:00Z'));
    expect(() => verifyAnnouncement(old)).not.toThrow();
    expect(() => verifyAnnouncement(old, { maxAgeMs: 60_000 })).toThrow(/too old/);
    const future = signAnnouncement(node, capabilities, new Date(Date.now() + 3_600_000));
    expect(() => verifyAnnouncement(future)).toThrow(/future/);
  });

  test('canonical JSON sorts keys and rejects what JSON cannot carry', () => {
    expect(canonicalJson({ b: 1, a: [true, null, 'x'], c: { z: 0, y: -1.5 } })).toBe('{"a":[true,null,"x"],"b":1,"c":{"y":-1.5,"z":0}}');
    expect(() => canonicalJson({ a: undefined })).toThrow();
    expect(() => canonicalJson({ a: Number.NaN })).toThrow();
    expect(() => canonicalJson(new Date())).toThrow();
  });
});
