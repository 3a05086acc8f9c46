import { createHmac, timingSafeEqual } from 'node:crypto';
import { canonicalJson } from './canonical-json.js';

/**
 * The platform's seal on an inference request: HMAC-SHA256 over the canonical request and the workflow id it is
 * started under, keyed from the coordinator's codec key (which the SDK, gateway and CLI hold and operators never do).
 * Step 01 refuses an `inferenceWorkflow` whose input carries no valid seal before anything is held, so a namespace
 * client without the key cannot spend anyone's credits; binding the workflow id keeps a sealed input copied from
 * history from being started again under another id.
 */
export const REQUEST_SEAL_DOMAIN = 'parallelix/request-seal/v1';

export interface RequestSeal {
  /** Id of the codec key the seal key derives from (the codec's key id). */
  keyId: string;
  /** base64 HMAC-SHA256. */
  mac: string;
}

export interface RequestSealKey {
  keyId: string;
  key: Buffer;
}

/** The seal key: HMAC-SHA256(codec key, domain), so the codec key itself never signs anything else. */
export function deriveRequestSealKey(codecKey: { id: string; key: Buffer }): RequestSealKey {
  return { keyId: codecKey.id, key: createHmac('sha256', codecKey.key).update(REQUEST_SEAL_DOMAIN).digest() };
}

function macOf(key: RequestSealKey, workflowId: string, request: object): Buffer {
  return createHmac('sha256', key.key).update(canonicalJson({ domain: REQUEST_SEAL_DOMAIN, workflowId, request })).digest();
}

/** `request`: the workflow input without its `platformSeal`. */
export function sealRequest(key: RequestSealKey, workflowId: string, request: object): RequestSeal {
  return { keyId: key.keyId, mac: macOf(key, workflowId, request).toString('base64') };
}

/** True only for a seal made with this key over exactly this request and workflow id; never throws. */
export function verifyRequestSeal(key: RequestSealKey, workflowId: string, request: object, seal: unknown): boolean {
  if (typeof seal !== 'object' || seal === null) return false;
  const { keyId, mac } = seal as Partial<RequestSeal>;
  if (keyId !== key.keyId || typeof mac !== 'string') return false;
  try {
    const expected = macOf(key, workflowId, request);
    const given = Buffer.from(mac, 'base64');
    return given.length === expected.length && timingSafeEqual(given, expected);
  } catch {
    return false;
  }
}
