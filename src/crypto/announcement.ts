import { z } from 'zod';
import { canonicalJson } from './canonical-json.js';
import { fromBase64, lengthPrefixedConcat, utf8Encode } from './encoding.js';
import { InvalidAnnouncementError } from './errors.js';
import { nodeIdFromSignPublicKey, publicIdentity, signDetached, verifyDetached, type NodeIdentity } from './identity.js';

/**
 * Operator registration announcement: who the node is, its keys and what it can run, signed
 * with its Ed25519 key. Signed bytes: LP("parallelix-announcement-v1") ‖ LP(canonicalJson(announcement))
 * (the announcement without `signature`; LP = 4-byte big-endian length + bytes).
 */
export const ANNOUNCEMENT_DOMAIN = 'parallelix-announcement-v1';

export interface OperatorCapabilities {
  /** Model names served (local folder name or Hugging Face id). */
  models: string[];
  /** ONNX weights variant; a sampled check pairs nodes of the same model and dtype. */
  dtype: string;
  /** Inference library and version (e.g. `transformers.js 4.3.1`); absent in announcements of older operators. */
  engine?: string;
  device: 'webgpu' | 'cpu';
  maxContextTokens: number;
  maxNewTokens: number;
  concurrency: number;
}

export interface OperatorAnnouncement {
  nodeId: string;
  boxPublicKey: string;
  signPublicKey: string;
  capabilities: OperatorCapabilities;
  /** ISO-8601 time of signing; lets a registry keep only the newest announcement per node. */
  announcedAt: string;
}

export interface SignedAnnouncement extends OperatorAnnouncement {
  /** Ed25519 signature, base64. */
  signature: string;
}

const base64Key = z.string().refine((s) => {
  try {
    return fromBase64(s).byteLength === 32;
  } catch {
    return false;
  }
}, 'must be a base64 32-byte key');

const positiveInt = z.number().int().positive();

const capabilitiesSchema = z.strictObject({
  models: z.array(z.string().min(1)).min(1),
  dtype: z.string().min(1),
  engine: z.string().min(1).max(100).optional(),
  device: z.enum(['webgpu', 'cpu']),
  maxContextTokens: positiveInt,
  maxNewTokens: positiveInt,
  concurrency: positiveInt,
});

const announcementSchema = z.strictObject({
  nodeId: z.string(),
  boxPublicKey: base64Key,
  signPublicKey: base64Key,
  capabilities: capabilitiesSchema,
  announcedAt: z.iso.datetime(),
  signature: z.string(),
});

function signedBytes(announcement: OperatorAnnouncement): Uint8Array {
  const { nodeId, boxPublicKey, signPublicKey, capabilities, announcedAt } = announcement;
  const body = canonicalJson({ nodeId, boxPublicKey, signPublicKey, capabilities, announcedAt });
  return lengthPrefixedConcat([utf8Encode(ANNOUNCEMENT_DOMAIN), utf8Encode(body)]);
}

export function signAnnouncement(
  identity: NodeIdentity,
  capabilities: OperatorCapabilities,
  announcedAt: Date = new Date(),
): SignedAnnouncement {
  const announcement: OperatorAnnouncement = {
    ...publicIdentity(identity),
    capabilities,
    announcedAt: announcedAt.toISOString(),
  };
  return { ...announcement, signature: signDetached(signedBytes(announcement), identity.sign.secretKey) };
}

export interface VerifyAnnouncementOptions {
  /** Reject announcements older than this (replay of stale keys/capabilities). */
  maxAgeMs?: number;
  /** Reject announcements dated further in the future than this (clock skew). Default 5 minutes. */
  maxClockSkewMs?: number;
  now?: Date;
}

/**
 * Checks shape, that nodeId derives from signPublicKey, the signature, and the time window.
 * Returns the announcement without its signature; throws InvalidAnnouncementError.
 */
export function verifyAnnouncement(
  signed: unknown,
  options: VerifyAnnouncementOptions = {},
): OperatorAnnouncement {
  const parsed = announcementSchema.safeParse(signed);
  if (!parsed.success) {
    throw new InvalidAnnouncementError('Announcement is malformed', { details: parsed.error.message });
  }
  const { signature, ...announcement } = parsed.data;
  const signPublicKey = fromBase64(announcement.signPublicKey);
  if (nodeIdFromSignPublicKey(signPublicKey) !== announcement.nodeId) {
    throw new InvalidAnnouncementError('Announcement nodeId does not derive from its signing key');
  }
  if (signature.length === 0 || !verifyDetached(signedBytes(announcement), signature, signPublicKey)) {
    throw new InvalidAnnouncementError('Announcement signature is invalid');
  }
  const now = (options.now ?? new Date()).getTime();
  const at = Date.parse(announcement.announcedAt);
  if (at - now > (options.maxClockSkewMs ?? 5 * 60_000)) {
    throw new InvalidAnnouncementError('Announcement is dated in the future');
  }
  if (options.maxAgeMs !== undefined && now - at > options.maxAgeMs) {
    throw new InvalidAnnouncementError('Announcement is too old');
  }
  return announcement;
}

