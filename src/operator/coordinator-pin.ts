import { promises as fs } from 'node:fs';
import path from 'node:path';
import { fromBase64 } from '../crypto/encoding.js';
import { ParallelixError } from '../shared/errors.js';

/** The coordinator keys a node trusts: pinned at its first registration, kept beside its key file. */
export interface CoordinatorPin {
  /** Ed25519, base64: the node executes only dispatches signed by it. */
  signPublicKey: string;
  /** X25519, base64: the only key the node seals results (and its failures) to. */
  boxPublicKey: string;
}

/** The coordinator answered with other keys than the ones this node pinned (or with none). */
export class CoordinatorKeyChangedError extends ParallelixError {
  override readonly code = 'COORDINATOR_KEY_CHANGED';
}

function isKey(value: unknown): value is string {
  try {
    return typeof value === 'string' && fromBase64(value).byteLength === 32;
  } catch {
    return false;
  }
}

/** `<key file>.coordinator-pin.json`: one pin per node identity. */
export function coordinatorPinFile(keyFile: string): string {
  const { dir, name } = path.parse(keyFile);
  return path.join(dir, `${name}.coordinator-pin.json`);
}

export async function readCoordinatorPin(file: string): Promise<CoordinatorPin | undefined> {
  let text: string;
  try {
    text = await fs.readFile(file, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const pin = JSON.parse(text) as Partial<CoordinatorPin>;
  if (!isKey(pin.signPublicKey) || !isKey(pin.boxPublicKey)) {
    throw new CoordinatorKeyChangedError(`the coordinator pin ${file} is not valid`, { details: 'delete it to pin the coordinator again' });
  }
  return { signPublicKey: pin.signPublicKey, boxPublicKey: pin.boxPublicKey };
}

/**
 * Trust on first use: the keys the coordinator answered the node's first registration with are written to `file`;
 * later registrations must answer with the same keys, or the operator stops (a coordinator that changed its keys,
 * or someone answering in its place). An operator whose coordinator rotated its keys deletes the file.
 */
export async function pinCoordinator(file: string, offered: Partial<CoordinatorPin>, current: CoordinatorPin | undefined): Promise<CoordinatorPin> {
  if (!isKey(offered.signPublicKey) || !isKey(offered.boxPublicKey)) {
    throw new CoordinatorKeyChangedError('the coordinator answered the registration without its signing and box keys', {
      details: 'the coordinator must run a version that signs dispatches',
    });
  }
  const pin: CoordinatorPin = { signPublicKey: offered.signPublicKey, boxPublicKey: offered.boxPublicKey };
  if (current) {
    if (current.signPublicKey !== pin.signPublicKey || current.boxPublicKey !== pin.boxPublicKey) {
      throw new CoordinatorKeyChangedError('the coordinator answered with other keys than the ones this node pinned', {
        details: `pinned in ${file}; delete that file only if the coordinator's operator announced a key rotation`,
      });
    }
    return current;
  }
  await fs.mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  await fs.writeFile(file, JSON.stringify({ ...pin, pinnedAt: new Date().toISOString() }, null, 2) + '\n', { mode: 0o600 });
  return pin;
}
