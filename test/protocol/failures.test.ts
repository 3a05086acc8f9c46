/**
 * The failure catalogue (src/protocol/failures.ts) is the one place failure types are defined: every error whose
 * code crosses Temporal is in it, ApplicationFailures take their retryability from it, and the SDK maps its types
 * back to typed errors. The workflows' type names are the ones their clients start them by.
 */
import { WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure, CancelledFailure, RetryState } from '@temporalio/common';
import {
  AnchorConflictError,
  ChainTransactionError,
  ChainUnavailableError,
  InvalidRecordError,
  NotAuthorisedAnchorerError,
  NotRegistryOwnerError,
  RegistryNotDeployedError,
} from '../../src/chain/errors.js';
import { NodeNotAdmittedError } from '../../src/policy/errors.js';
import { EnvelopeNotForThisNodeError, EnvelopeRequestMismatchError, EnvelopeTamperedError, InvalidAnnouncementError } from '../../src/crypto/errors.js';
import { InsufficientCreditsError as LedgerInsufficientCreditsError } from '../../src/db/errors.js';
import { MaxNewTokensExceededError, PromptTooLongError } from '../../src/inference/errors.js';
import { CoordinatorKeyChangedError } from '../../src/operator/coordinator-pin.js';
import { CoordinatorNotPinnedError, DispatchNotAuthenticError, DispatchNotForThisNodeError, ModelNotServedError } from '../../src/operator/errors.js';
import {
  applicationFailure,
  FAILURES,
  FailureType,
  isRequestInputFailure,
  isRetryableFailure,
  toApplicationFailure,
} from '../../src/protocol/failures.js';
import {
  ContextLengthExceededError,
  InsufficientCreditsError,
  InvalidInputError,
  NoCapableNodeError,
  RequestCancelledError,
  RequestFailedError,
  toSdkError,
} from '../../src/sdk/index.js';
import { ParallelixError } from '../../src/shared/errors.js';

const failed = (cause: Error): WorkflowFailedError => new WorkflowFailedError('Workflow execution failed', cause, RetryState.NON_RETRYABLE_FAILURE);

test('every error whose code crosses Temporal is in the catalogue, with a meaning', () => {
  const crossing: ParallelixError[] = [
    new InvalidInputError('x'),
    new PromptTooLongError(10, 5, 12),
    new MaxNewTokensExceededError(64, 32),
    new LedgerInsufficientCreditsError('x'),
    new ChainUnavailableError('x'),
    new ChainTransactionError('x'),
    new NotAuthorisedAnchorerError('x'),
    new NotRegistryOwnerError('x'),
    new AnchorConflictError('x'),
    new InvalidRecordError('x'),
    new RegistryNotDeployedError('x'),
    new DispatchNotAuthenticError('x'),
    new DispatchNotForThisNodeError('x'),
    new CoordinatorNotPinnedError('x'),
    new ModelNotServedError('x'),
    new EnvelopeNotForThisNodeError('x'),
    new EnvelopeTamperedError('x'),
    new EnvelopeRequestMismatchError('x'),
    new InvalidAnnouncementError('x'),
    new NodeNotAdmittedError('x'),
    new CoordinatorKeyChangedError('x'),
  ];
  const missing = crossing.map((e) => e.code).filter((code) => !(code in FAILURES));
  expect(missing).toEqual([]);
  for (const [name, entry] of Object.entries(FAILURES)) {
    expect([name, entry.meaning.length > 10]).toEqual([name, true]);
    expect(FailureType[name as keyof typeof FailureType]).toBe(name);
  }
  expect(Object.keys(FAILURES).filter(isRequestInputFailure).sort()).toEqual(['INVALID_INPUT', 'MAX_NEW_TOKENS_EXCEEDED', 'PROMPT_TOO_LONG']);
});

test('chain errors: only an outage or a failed transaction is retryable; a refusal becomes a non-retryable failure', () => {
  expect([new ChainUnavailableError('x').retryable, new ChainTransactionError('x').retryable]).toEqual([true, true]);
  for (const refusal of [new NotAuthorisedAnchorerError('x'), new AnchorConflictError('x'), new InvalidRecordError('x'), new RegistryNotDeployedError('x')]) {
    expect([refusal.code, refusal.retryable, toApplicationFailure(refusal).nonRetryable]).toEqual([refusal.code, false, true]);
  }
  expect(toApplicationFailure(new ChainUnavailableError('rpc down')).nonRetryable).toBe(false);
  expect(isRetryableFailure('SOME_LOCAL_CODE')).toBe(false);
});

test('a ParalleliX error crosses as its code and short message; its details stay local', () => {
  const error = new InvalidInputError('messages do not fit the chat template', { details: 'template said: <the user prompt>' });
  const failure = toApplicationFailure(error);
  expect([failure.type, failure.message, failure.nonRetryable]).toEqual(['INVALID_INPUT', 'messages do not fit the chat template', true]);
  expect(error.message).toContain('<the user prompt>');
  const withCounts = applicationFailure(FailureType.PROMPT_TOO_LONG, 'too long', { inputTokens: 10, maxNewTokens: 5, maxContextTokens: 12 });
  expect([withCounts.type, withCounts.nonRetryable, withCounts.details]).toEqual(['PROMPT_TOO_LONG', true, [{ inputTokens: 10, maxNewTokens: 5, maxContextTokens: 12 }]]);
});

test('walk() follows the cause chain', () => {
  const root = new Error('socket closed');
  const middle = new ChainUnavailableError('rpc down', { cause: root });
  const top = new ParallelixError('anchor failed', { cause: middle });
  expect(top.walk()).toBe(root);
  expect(top.walk((e) => e instanceof ChainUnavailableError)).toBe(middle);
  expect(top.walk((e) => e instanceof RangeError)).toBeNull();
});

test('the SDK maps each failure type back to its typed error', () => {
  const sdk = (type: string, details?: unknown) => toSdkError(failed(applicationFailure(type as never, `refused: ${type}`, details)));
  const credits = sdk('INSUFFICIENT_CREDITS', { requested: 900, available: 5 });
  expect(credits).toBeInstanceOf(InsufficientCreditsError);
  expect(credits).toBeInstanceOf(LedgerInsufficientCreditsError); // one class, ledger and SDK alike
  expect(credits).toMatchObject({ code: 'INSUFFICIENT_CREDITS', requested: 900n, available: 5n });
  expect(sdk('NO_CAPABLE_NODE')).toBeInstanceOf(NoCapableNodeError);
  const tooLong = sdk('PROMPT_TOO_LONG', { inputTokens: 10, maxNewTokens: 5, maxContextTokens: 12 });
  expect([tooLong instanceof ContextLengthExceededError, (tooLong as ContextLengthExceededError).limits]).toEqual([
    true,
    { inputTokens: 10, maxNewTokens: 5, maxContextTokens: 12 },
  ]);
  for (const type of ['INVALID_INPUT', 'MAX_NEW_TOKENS_EXCEEDED']) expect(sdk(type)).toBeInstanceOf(InvalidInputError);
  const noMajority = sdk('NO_MAJORITY');
  expect([noMajority instanceof RequestFailedError, (noMajority as RequestFailedError).code]).toEqual([true, 'NO_MAJORITY']);
  expect(toSdkError(failed(new CancelledFailure('cancelled')))).toBeInstanceOf(RequestCancelledError);
  expect((toSdkError(failed(ApplicationFailure.create({ message: 'plain' }))) as RequestFailedError).code).toBe('REQUEST_FAILED');
  const other = new Error('connection reset');
  expect(toSdkError(other)).toBe(other);
});
