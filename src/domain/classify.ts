/**
 * What the service does with an error from a call it made: the failure table of DESIGN.md as a function.
 * Pure: it only reads the error's name, message, HTTP status and Node error code.
 */
export type ErrorDecision =
  /** Any ConflictException: its text does not say which state the domain is in, the listing does. */
  | { kind: 'conflict'; message: string }
  | { kind: 'transient'; code: string; message: string }
  | { kind: 'permanent'; code: string; message: string };

/** Errors whose request can never succeed by retrying it unchanged. */
export const PERMANENT_AWS_ERRORS: ReadonlySet<string> = new Set([
  'ValidationException',
  'ResourceNotFoundException',
  'AccessDeniedException',
  'BaseException',
]);

const THROTTLING_ERRORS = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'TransactionInProgressException',
  'SlowDown',
]);

/** Whether an error code (or a retry plan's) is a throttle. */
export const isThrottling = (code: string): boolean => THROTTLING_ERRORS.has(code);

const SERVER_SIDE_ERRORS = new Set([
  'InternalException',
  'InternalFailure',
  'InternalServerError',
  'InternalServerException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
]);

const NETWORK_ERRORS = new Set([
  'TimeoutError',
  'AbortError',
  'RequestTimeout',
  'RequestTimeoutException',
  'NetworkingError',
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'UND_ERR_SOCKET',
  'UND_ERR_CONNECT_TIMEOUT',
]);

/** "Update in progress", "another operation is in progress": the domain is busy, try again later. */
const IN_PROGRESS = /in progress/i;

interface ErrorFacts {
  name: string;
  message: string;
  status: number | undefined;
  nodeCode: string | undefined;
}

function factsOf(error: unknown): ErrorFacts {
  if (!(error instanceof Error) && (typeof error !== 'object' || error === null)) {
    return { name: 'Error', message: String(error), status: undefined, nodeCode: undefined };
  }
  const candidate = error as {
    name?: unknown;
    message?: unknown;
    code?: unknown;
    $metadata?: { httpStatusCode?: unknown };
  };
  const status = candidate.$metadata?.httpStatusCode;
  return {
    name: typeof candidate.name === 'string' ? candidate.name : 'Error',
    message: typeof candidate.message === 'string' ? candidate.message : '',
    status: typeof status === 'number' ? status : undefined,
    nodeCode: typeof candidate.code === 'string' ? candidate.code : undefined,
  };
}

export function classifyError(error: unknown): ErrorDecision {
  const { name, message, status, nodeCode } = factsOf(error);
  const transient = { kind: 'transient', code: name, message } as const;
  // "Already in desired state", "an operation is in progress", or a call of ours whose answer was lost: only
  // the domain's listing can tell, so no conflict is decided (or blindly retried) by its text.
  if (name === 'ConflictException') return { kind: 'conflict', message };
  // Before the permanent names: during a domain update OpenSearch answers ValidationException
  // "A change/update is in progress", which passes once the update ends.
  if (IN_PROGRESS.test(message)) return transient;
  if (PERMANENT_AWS_ERRORS.has(name)) return { kind: 'permanent', code: name, message };
  if (THROTTLING_ERRORS.has(name) || SERVER_SIDE_ERRORS.has(name) || NETWORK_ERRORS.has(name))
    return transient;
  if (nodeCode !== undefined && NETWORK_ERRORS.has(nodeCode)) return { ...transient, code: nodeCode };
  if (status !== undefined && (status >= 500 || status === 429)) return transient;
  // Any other 4xx names a request AWS will keep refusing (LimitExceededException: the domain's package quota).
  if (status !== undefined && status >= 400) return { kind: 'permanent', code: name, message };
  // No HTTP answer at all and no known cause: retrying is the honest choice; the attempt limit bounds it.
  return transient;
}
