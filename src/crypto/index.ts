/**
 * Operator and coordinator cryptography.
 *
 * @example
 * const node = await loadOrCreateIdentity(path.join(stateDir(), 'node-key.json'));
 * const envelope = sealEnvelope({ messages }, node.box.publicKey, { requestId });
 * const request = openJsonEnvelope(envelope, node.box.secretKey, node.box.publicKey, { expectRequestId: requestId });
 * const poe = computePoe({ requestId, result, nodeId: node.nodeId });
 * const signature = signPoe(poe, node.sign.secretKey);
 * verifyPoeSignature(poe, signature, publicIdentity(node).signPublicKey); // true
 */
export * from './announcement.js';
export * from './canonical-json.js';
export * from './encoding.js';
export * from './envelope.js';
export * from './health-probe.js';
export * from './errors.js';
export * from './identity.js';
export * from './poe.js';
export * from './score-report.js';
export * from './dispatch-signature.js';
export * from './request-seal.js';
