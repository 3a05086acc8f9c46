import { ParallelixError } from '../shared/errors.js';

/** The envelope names another recipient key than the one trying to open it. */
export class EnvelopeNotForThisNodeError extends ParallelixError {
  override readonly code = 'ENVELOPE_NOT_FOR_THIS_NODE';
}

/** The envelope is malformed or fails authentication (wrong key, altered bytes). */
export class EnvelopeTamperedError extends ParallelixError {
  override readonly code = 'ENVELOPE_TAMPERED';
}

/** The envelope opened but is bound to another request id than the one expected (replay). */
export class EnvelopeRequestMismatchError extends ParallelixError {
  override readonly code = 'ENVELOPE_REQUEST_MISMATCH';
}

/** An operator announcement failed its signature, shape or node-id check. */
export class InvalidAnnouncementError extends ParallelixError {
  override readonly code = 'ANNOUNCEMENT_INVALID';
}

/** A key file exists but cannot be used (unreadable, malformed, inconsistent keys). */
export class KeyFileInvalidError extends ParallelixError {
  override readonly code = 'KEY_FILE_INVALID';
}

/** A key file is readable or writable by group/others; refused like ssh refuses such keys. */
export class KeyFilePermissionsError extends ParallelixError {
  override readonly code = 'KEY_FILE_PERMISSIONS';
}
