/**
 * Reconciliation of a soak run: what was sent against what came out (events, dead letters, what is still
 * queued, the emulator's state). Pure, so its rules are tested without a stack.
 */
import type { CallCount } from '../local/opensearch/index.ts';
import type { DuplicateTiming, ExpectedOutcome, PlannedRequest, RequestKind } from './workload.ts';

export const SUCCEEDED = 'PackageAssociationSucceeded';
export const FAILED = 'PackageAssociationFailed';
const TERMINAL_TYPES = new Set([SUCCEEDED, FAILED]);

/** Failure reasons that come with a dead letter (DESIGN.md, failure rules); the others come without. */
const DEAD_LETTERED_REASONS = new Set([
  'InvalidRequest',
  'DomainNotAllowed',
  'IdempotencyKeyConflict',
  'ValidationException',
  'ResourceNotFoundException',
  'AccessDeniedException',
  'BaseException',
  'RetriesExhausted',
]);

/**
 * Rejections decided before the idempotency store is consulted. DESIGN.md wants a domain off the allow-list
 * rejected with no AWS call (the store included: test/security/code.test.ts), and an invalid body has no
 * trustworthy key, so nothing remembers these across deliveries: a redelivered or resent one is announced
 * again. Counted apart, and a violation only in strict mode.
 */
export const REJECTED_BEFORE_STORE = new Set(['InvalidRequest', 'DomainNotAllowed']);

/** How many examples of each broken invariant the report names. */
const MAX_EXAMPLES = 10;
/** The reason of a message the queue's redrive policy moved, which carries no attributes of ours. */
export const REDRIVEN = '(redriven by SQS)';

export interface SentMessage {
  messageId: string;
  requestId: number;
  duplicate?: DuplicateTiming;
}

export interface ObservedEvent {
  detailType: string;
  idempotencyKey: string | undefined;
  errorCode: string | undefined;
  /** The receive count of the message that announced it; tells which handler attempt spoke. */
  attempt?: number | undefined;
}

export interface DeadLetterMessage {
  messageId: string;
  body: string;
  reasonCode: string | undefined;
  sourceMessageId: string | undefined;
}

export interface AssociationState {
  DomainName: string;
  PackageID: string;
  DomainPackageStatus: string;
}

export interface Observation {
  requests: readonly PlannedRequest[];
  sent: readonly SentMessage[];
  events: readonly ObservedEvent[];
  requestDeadLetters: readonly DeadLetterMessage[];
  trackingDeadLetters: readonly DeadLetterMessage[];
  /** Message ids still in the requests queue (ready, delayed or in flight). */
  queuedRequestMessageIds: readonly string[];
  /** Idempotency keys of tracking messages still in the tracking queue. */
  queuedTrackingKeys: readonly string[];
  associatePackage: CallCount;
  associations: readonly AssociationState[];
}

export interface ReconcileOptions {
  /** Count a rejection announced more than once as a violation too. */
  strict?: boolean;
}

export interface Example {
  requestId: number;
  kind: RequestKind;
  idempotencyKey: string;
  detail: string;
}

export interface Reconciliation {
  uniqueRequests: number;
  messagesSent: number;
  duplicatesSent: Record<DuplicateTiming, number>;
  requestsByKind: Record<string, number>;
  succeeded: number;
  failedByReason: Record<string, number>;
  requestDeadLettersByReason: Record<string, number>;
  trackingDeadLettersByReason: Record<string, number>;
  /** No terminal event yet, but a message of theirs is still queued. */
  inFlight: number;
  /** No terminal event, no queued message, but a dead letter: the documented in-progress exception. */
  deadLetteredWithoutTerminalEvent: number;
  /** No terminal event, no dead letter, nothing queued. Must be 0. */
  lost: number;
  /** Idempotency keys with more than one terminal event, rejections before the store aside. Must be 0. */
  duplicateTerminalEvents: number;
  /** Requests rejected before the idempotency store (see REJECTED_BEFORE_STORE) announced more than once. */
  repeatedRejections: number;
  /** The extra terminal events of those. */
  repeatedRejectionEvents: number;
  /** Keys with more than one Started event (announced twice, though not terminal). */
  duplicateStartedEvents: number;
  /** Ended in another way than planned (RetriesExhausted with its dead letter is always allowed). */
  unexpectedOutcomes: number;
  /** A Failed event whose reason calls for a dead letter, without one. */
  failedWithoutDeadLetter: number;
  /** Invalid bodies missing from the DLQ byte for byte with ReasonCode InvalidRequest. */
  invalidNotDeadLetteredVerbatim: number;
  /** Events whose idempotency key no request sent. */
  unattributedEvents: number;
  /** A Succeeded event for a pair the emulator does not report ACTIVE. */
  succeededButNotActive: number;
  associatePackage: CallCount & {
    /** Unique requests that reach AssociatePackage (valid bodies on allowed domains). */
    requestsReachingAws: number;
    associatedPairs: number;
  };
  examples: Record<string, Example[]>;
  /** Broken invariants, in words; empty when the run passed. */
  violations: string[];
}

function increment(counts: Record<string, number>, key: string): void {
  counts[key] = (counts[key] ?? 0) + 1;
}

function matchesExpected(expected: ExpectedOutcome, event: ObservedEvent): boolean {
  if (event.detailType !== expected.detailType) return false;
  return expected.reason === undefined || event.errorCode === expected.reason;
}

function describe(event: ObservedEvent | undefined): string {
  if (event === undefined) return 'no terminal event';
  const notes = [event.errorCode, event.attempt === undefined ? undefined : `attempt ${event.attempt}`];
  const said = notes.filter((note) => note !== undefined).join(', ');
  return said === '' ? event.detailType : `${event.detailType} (${said})`;
}

function trackingKeyOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'idempotencyKey' in parsed) {
      const key = (parsed as { idempotencyKey: unknown }).idempotencyKey;
      return typeof key === 'string' ? key : undefined;
    }
  } catch {
    // Not a tracking message; it cannot be attributed by key.
  }
  return undefined;
}

/** Checks every invariant of the run; `violations` lists those that broke. */
export function reconcile(observation: Observation, options: ReconcileOptions = {}): Reconciliation {
  const { requests, sent } = observation;
  const sentByMessageId = new Map(sent.map((message) => [message.messageId, message]));
  const messageIdsOf = new Map<number, string[]>();
  for (const message of sent) {
    const list = messageIdsOf.get(message.requestId) ?? [];
    list.push(message.messageId);
    messageIdsOf.set(message.requestId, list);
  }
  // Events name a request by its idempotency key, or by its SQS message id when the body had no key.
  const keyOf = (request: PlannedRequest): string =>
    request.idempotencyKey ?? messageIdsOf.get(request.id)?.[0] ?? `unsent-${request.id}`;
  const requestByKey = new Map(requests.map((request) => [keyOf(request), request]));

  const eventsByKey = new Map<string, ObservedEvent[]>();
  let unattributedEvents = 0;
  for (const event of observation.events) {
    if (event.idempotencyKey === undefined || !requestByKey.has(event.idempotencyKey)) {
      unattributedEvents += 1;
      continue;
    }
    const list = eventsByKey.get(event.idempotencyKey) ?? [];
    list.push(event);
    eventsByKey.set(event.idempotencyKey, list);
  }

  const deadLettersOf = new Map<number, DeadLetterMessage[]>();
  const attribute = (requestId: number | undefined, message: DeadLetterMessage) => {
    if (requestId === undefined) return;
    const list = deadLettersOf.get(requestId) ?? [];
    list.push(message);
    deadLettersOf.set(requestId, list);
  };
  const requestDeadLettersByReason: Record<string, number> = {};
  for (const message of observation.requestDeadLetters) {
    increment(requestDeadLettersByReason, message.reasonCode ?? REDRIVEN);
    // A redriven message keeps its own id; one the handler wrote names it in SourceMessageId.
    attribute(sentByMessageId.get(message.sourceMessageId ?? message.messageId)?.requestId, message);
  }
  const trackingDeadLettersByReason: Record<string, number> = {};
  for (const message of observation.trackingDeadLetters) {
    increment(trackingDeadLettersByReason, message.reasonCode ?? REDRIVEN);
    const key = trackingKeyOf(message.body);
    attribute(key === undefined ? undefined : requestByKey.get(key)?.id, message);
  }

  const queuedRequests = new Set(
    observation.queuedRequestMessageIds.flatMap((id) => sentByMessageId.get(id)?.requestId ?? []),
  );
  const queuedKeys = new Set(observation.queuedTrackingKeys);
  const active = new Set(
    observation.associations
      .filter((association) => association.DomainPackageStatus === 'ACTIVE')
      .map((association) => `${association.DomainName}/${association.PackageID}`),
  );

  const examples: Record<string, Example[]> = {};
  const note = (name: string, request: PlannedRequest, detail: string) => {
    const list = examples[name] ?? [];
    if (list.length < MAX_EXAMPLES)
      list.push({ requestId: request.id, kind: request.kind, idempotencyKey: keyOf(request), detail });
    examples[name] = list;
  };
  const failedByReason: Record<string, number> = {};
  const requestsByKind: Record<string, number> = {};
  let succeeded = 0;
  let inFlight = 0;
  let deadLetteredWithoutTerminalEvent = 0;
  let lost = 0;
  let duplicateTerminalEvents = 0;
  let repeatedRejections = 0;
  let repeatedRejectionEvents = 0;
  let duplicateStartedEvents = 0;
  let unexpectedOutcomes = 0;
  let failedWithoutDeadLetter = 0;
  let invalidNotDeadLetteredVerbatim = 0;
  let succeededButNotActive = 0;

  for (const request of requests) {
    increment(requestsByKind, request.kind);
    const key = keyOf(request);
    const events = eventsByKey.get(key) ?? [];
    const terminal = events.filter((event) => TERMINAL_TYPES.has(event.detailType));
    const deadLetters = deadLettersOf.get(request.id) ?? [];
    const first = terminal[0];

    if (terminal.length > 1) {
      const rejections = terminal.every(
        (event) => event.detailType === FAILED && REJECTED_BEFORE_STORE.has(event.errorCode ?? ''),
      );
      if (rejections) {
        repeatedRejections += 1;
        repeatedRejectionEvents += terminal.length - 1;
        note('repeatedRejections', request, terminal.map(describe).join(', '));
      } else {
        duplicateTerminalEvents += 1;
        note('duplicateTerminalEvents', request, terminal.map(describe).join(', '));
      }
    }
    if (events.filter((event) => event.detailType === 'PackageAssociationStarted').length > 1) {
      duplicateStartedEvents += 1;
    }
    if (first === undefined) {
      if (queuedRequests.has(request.id) || queuedKeys.has(key)) {
        inFlight += 1;
      } else if (deadLetters.length > 0) {
        deadLetteredWithoutTerminalEvent += 1;
        note(
          'deadLetteredWithoutTerminalEvent',
          request,
          deadLetters.map((m) => m.reasonCode ?? REDRIVEN).join(', '),
        );
      } else {
        lost += 1;
        note('lost', request, `sent as ${(messageIdsOf.get(request.id) ?? []).join(', ')}`);
      }
    } else {
      if (first.detailType === SUCCEEDED) succeeded += 1;
      else increment(failedByReason, first.errorCode ?? 'unknown');
      const allowed =
        matchesExpected(request.expected, first) ||
        (first.detailType === FAILED && first.errorCode === 'RetriesExhausted');
      if (!allowed) {
        unexpectedOutcomes += 1;
        note(
          'unexpectedOutcomes',
          request,
          `expected ${describe({ detailType: request.expected.detailType, idempotencyKey: key, errorCode: request.expected.reason })}, got ${describe(first)}`,
        );
      }
      for (const event of terminal) {
        const needsDeadLetter =
          event.detailType === FAILED && DEAD_LETTERED_REASONS.has(event.errorCode ?? '');
        if (needsDeadLetter && !deadLetters.some((message) => message.reasonCode === event.errorCode)) {
          failedWithoutDeadLetter += 1;
          note('failedWithoutDeadLetter', request, describe(event));
        }
      }
      if (first.detailType === SUCCEEDED && !active.has(`${request.domainName}/${request.packageId}`)) {
        succeededButNotActive += 1;
        note('succeededButNotActive', request, `${request.domainName}/${request.packageId}`);
      }
    }
    if (request.kind.startsWith('invalid:')) {
      const messageId = messageIdsOf.get(request.id)?.[0];
      const verbatim = deadLetters.some(
        (message) =>
          message.sourceMessageId === messageId &&
          message.reasonCode === 'InvalidRequest' &&
          message.body === request.body,
      );
      if (!verbatim) {
        invalidNotDeadLetteredVerbatim += 1;
        note('invalidNotDeadLetteredVerbatim', request, `${deadLetters.length} dead letters`);
      }
    }
  }

  const reachesAws = new Set<RequestKind>(['valid', 'failing-package', 'unknown-domain', 'unknown-package']);
  const duplicatesSent: Record<DuplicateTiming, number> = { concurrent: 0, 'after-terminal': 0 };
  for (const message of sent) if (message.duplicate) duplicatesSent[message.duplicate] += 1;
  const associatedPairs = new Set(
    observation.associations.map((association) => `${association.DomainName}/${association.PackageID}`),
  ).size;

  const result: Omit<Reconciliation, 'violations'> = {
    uniqueRequests: requests.length,
    messagesSent: sent.length,
    duplicatesSent,
    requestsByKind,
    succeeded,
    failedByReason,
    requestDeadLettersByReason,
    trackingDeadLettersByReason,
    inFlight,
    deadLetteredWithoutTerminalEvent,
    lost,
    duplicateTerminalEvents,
    repeatedRejections,
    repeatedRejectionEvents,
    duplicateStartedEvents,
    unexpectedOutcomes,
    failedWithoutDeadLetter,
    invalidNotDeadLetteredVerbatim,
    unattributedEvents,
    succeededButNotActive,
    associatePackage: {
      ...observation.associatePackage,
      requestsReachingAws: requests.filter((request) => reachesAws.has(request.kind)).length,
      associatedPairs,
    },
    examples,
  };
  return { ...result, violations: violationsOf(result, options) };
}

function violationsOf(result: Omit<Reconciliation, 'violations'>, options: ReconcileOptions): string[] {
  const violations: string[] = [];
  if (options.strict && result.repeatedRejections > 0) {
    violations.push(`${result.repeatedRejections} rejected requests announced more than once`);
  }
  const mustBeZero: [number, string][] = [
    [result.lost, 'requests lost (no terminal event, no dead letter, nothing queued)'],
    [result.duplicateTerminalEvents, 'requests announced with more than one terminal event'],
    [result.unexpectedOutcomes, 'requests that ended otherwise than planned'],
    [result.failedWithoutDeadLetter, 'Failed events without the dead letter their reason calls for'],
    [result.invalidNotDeadLetteredVerbatim, 'invalid bodies not in the DLQ byte for byte as InvalidRequest'],
    [result.unattributedEvents, 'events for no request that was sent'],
    [result.succeededButNotActive, 'Succeeded events for pairs the emulator does not report ACTIVE'],
  ];
  for (const [count, what] of mustBeZero) if (count > 0) violations.push(`${count} ${what}`);
  const { succeeded, associatedPairs } = result.associatePackage;
  if (succeeded > associatedPairs) {
    violations.push(
      `${succeeded} successful AssociatePackage calls for ${associatedPairs} (domain, package) pairs: some pair was associated twice`,
    );
  }
  return violations;
}
