import { describe, expect, it } from 'vitest';
import { classifyError } from '../../src/domain/classify.ts';

function awsError(name: string, message: string, status: number) {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}

describe('classifyError: one row of the DESIGN.md failure table per case', () => {
  it.each([
    ['ValidationException', 400],
    ['ResourceNotFoundException', 404],
    ['AccessDeniedException', 403],
    ['BaseException', 400],
  ])('%s is permanent with the AWS name as its code', (name, status) => {
    expect(classifyError(awsError(name, 'nope', status))).toEqual({
      kind: 'permanent',
      code: name,
      message: 'nope',
    });
  });

  it.each(['Package is already in desired state on domain', 'Another package operation is in progress'])(
    'ConflictException %j is a conflict for the listing to resolve, whatever its text',
    (text) => {
      expect(classifyError(awsError('ConflictException', text, 409))).toEqual({
        kind: 'conflict',
        message: text,
      });
    },
  );

  it('an error named like a conflict but not ConflictException is judged by the usual rules', () => {
    const error = awsError(
      'ConcurrentModificationException',
      'Another package operation is in progress',
      409,
    );
    expect(classifyError(error)).toEqual({
      kind: 'transient',
      code: 'ConcurrentModificationException',
      message: 'Another package operation is in progress',
    });
  });

  it.each([
    ['ValidationException', 'A change/update is in progress. Please wait for it to complete.'],
    ['BaseException', 'Domain update in progress'],
  ])('%s "%s" is transient: the update ends', (name, message) => {
    expect(classifyError(awsError(name, message, 400))).toEqual({ kind: 'transient', code: name, message });
  });

  it('"update in progress" is transient whatever the error name', () => {
    expect(classifyError(awsError('DisabledOperationException', 'Domain update in progress', 409)).kind).toBe(
      'transient',
    );
  });

  it.each([
    ['ThrottlingException', 400],
    ['TooManyRequestsException', 429],
    ['InternalException', 500],
    ['ServiceUnavailable', 503],
    ['SomethingNew', 502],
    ['TimeoutError', 0],
  ])('%s is transient', (name, status) => {
    expect(classifyError(awsError(name, 'later', status))).toEqual({
      kind: 'transient',
      code: name,
      message: 'later',
    });
  });

  it('network errors are transient under their Node code', () => {
    const error = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    expect(classifyError(error)).toEqual({
      kind: 'transient',
      code: 'ECONNRESET',
      message: 'socket hang up',
    });
  });

  it('another 4xx AWS error (the package quota) is permanent', () => {
    const error = awsError('LimitExceededException', 'more than 20 packages', 409);
    expect(classifyError(error)).toEqual({
      kind: 'permanent',
      code: 'LimitExceededException',
      message: 'more than 20 packages',
    });
  });

  it('an error with no HTTP answer is transient, bounded by the attempt limit', () => {
    expect(classifyError(new TypeError('boom'))).toEqual({
      kind: 'transient',
      code: 'TypeError',
      message: 'boom',
    });
    expect(classifyError('a string')).toEqual({ kind: 'transient', code: 'Error', message: 'a string' });
  });
});
