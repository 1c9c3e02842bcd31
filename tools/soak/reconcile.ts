/**
 * Reconciliation of a soak run: what was sent against what came out (events, dead letters, what is still
 * queued, the emulator's state). Pure, so its rules are tested without a stack.
 */
import type { CallCount } from '../../local/opensearch/index.ts';
import type { DuplicateTiming, ExpectedOutcome, PlannedRequest, RequestKind } from './workload.ts';

export const SUCCEEDED = 'PackageAssociationSucceeded';
export const FAILED = 'PackageAssociationFailed';
export const REJECTED = 'PackageRequestRejected';
export const STARTED = 'PackageAssociationStarted';
const TERMINAL_TYPES = new Set([SUCCEEDED, FAILED]);

/** Failure reasons that come with a dead letter (docs/DESIGN.md, failure rules); the others come without. */
const DEAD_LETTERED_REASONS = new Set([
  'ValidationException',
  'ResourceNotFoundException',
  'AccessDeniedException',
  'BaseException',
  'RetriesExhausted',
]);

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
  /** The same for every publication of one event: what subscribers de-duplicate on. */
  eventId: string;
  idempotencyKey: string | undefined;
  /** A rejection's: the message it refused. */
  messageId?: string | undefined;
  requestedBy?: string | undefined;
  errorCode: string | undefined;
  /** The receive count of the message that announced it; tells which handler attempt spoke. */
  attempt?: number | undefined;
}

export interface DeadLetterMessage {
  messageId: string;
  body: string;
  reasonCode: string | undefined;
  sourceMessageId: string | undefined;
  /** The same for every copy of one dead letter; absent on a message SQS itself redrove. */
  deadLetterId?: string | undefined;
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
  /** Package operations that took effect, per `<domain>/<package>` (the emulator's count). */
  operationsByPair?: Readonly<Record<string, number>>;
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
  /** Requests with more than one decision (distinct terminal event ids). Must be 0. */
  duplicateTerminalEvents: number;
  /** Messages rejected more than once (distinct Rejected event ids). Must be 0. */
  repeatedRejections: number;
  /** Requests or rejected messages with more than one distinct dead letter. Must be 0. */
  duplicateDeadLetters: number;
  /** Requests with more than one distinct Started event. Must be 0. */
  duplicateStartedEvents: number;
  /** Publications of an event already seen under its id: at-least-once delivery, de-duplicated. */
  republishedEvents: number;
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
  /** Request events whose `requestedBy` is not the body's, character for character. */
  freeTextChanged: number;
  associatePackage: CallCount & {
    /** Unique requests that reach AssociatePackage (valid bodies on allowed domains). */
    requestsReachingAws: number;
    associatedPairs: number;
    /** The pairs operated on more than once, with how often: what to look for in the logs. */
    pairsOperatedTwice: Record<string, number>;
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

/** The first publication of each event id: a subscriber's view after it de-duplicates. */
function distinctEvents(events: readonly ObservedEvent[]): { events: ObservedEvent[]; republished: number } {
  const seen = new Set<string>();
  const distinct = events.filter(
    (event) => !seen.has(event.eventId) && seen.add(event.eventId) !== undefined,
  );
  return { events: distinct, republished: events.length - distinct.length };
}

function distinctDeadLetters(letters: readonly DeadLetterMessage[]): DeadLetterMessage[] {
  const seen = new Set<string>();
  return letters.filter((letter) => {
    const id = letter.deadLetterId ?? letter.messageId;
    return !seen.has(id) && seen.add(id) !== undefined;
  });
}

function groupBy<T>(items: readonly T[], keyOf: (item: T) => string | undefined): Map<string, T[]> {
  const groups = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    if (key === undefined) continue;
    groups.set(key, [...(groups.get(key) ?? []), item]);
  }
  return groups;
}

/** Requests refused before they became requests: each message sent is decided on its own, once. */
const isRejectedKind = (request: PlannedRequest) => request.expected.detailType === REJECTED;

/** Checks every invariant of the run; `violations` lists those that broke. */
export function reconcile(observation: Observation): Reconciliation {
  const { requests, sent } = observation;
  const sentByMessageId = new Map(sent.map((message) => [message.messageId, message]));
  const messageIdsOf = groupBy(sent, (message) => String(message.requestId));
  // Events name a request by its idempotency key, or by its SQS message id when the body had no key.
  const keyOf = (request: PlannedRequest): string =>
    request.idempotencyKey ?? messageIdsOf.get(String(request.id))?.[0]?.messageId ?? `unsent-${request.id}`;
  const requestByKey = new Map(
    requests.filter((r) => !isRejectedKind(r)).map((request) => [keyOf(request), request]),
  );

  const { events, republished } = distinctEvents(observation.events);
  const rejections = events.filter((event) => event.detailType === REJECTED);
  const requestEvents = events.filter((event) => event.detailType !== REJECTED);
  const eventsByKey = groupBy(requestEvents, (event) => event.idempotencyKey);
  const rejectionsByMessage = groupBy(rejections, (event) => event.messageId);
  const unattributedEvents =
    requestEvents.filter(
      (event) => event.idempotencyKey === undefined || !requestByKey.has(event.idempotencyKey),
    ).length + rejections.filter((event) => !sentByMessageId.has(event.messageId ?? '')).length;

  const requestDeadLetters = distinctDeadLetters(observation.requestDeadLetters);
  const requestDeadLettersByReason: Record<string, number> = {};
  for (const message of requestDeadLetters)
    increment(requestDeadLettersByReason, message.reasonCode ?? REDRIVEN);
  // A redriven message keeps its own id; one the handler wrote names it in SourceMessageId.
  const lettersByMessage = groupBy(
    requestDeadLetters,
    (message) => message.sourceMessageId ?? message.messageId,
  );
  const trackingDeadLettersByReason: Record<string, number> = {};
  for (const message of observation.trackingDeadLetters) {
    increment(trackingDeadLettersByReason, message.reasonCode ?? REDRIVEN);
  }
  const trackingLettersByKey = groupBy(observation.trackingDeadLetters, (message) =>
    trackingKeyOf(message.body),
  );

  const queuedMessages = new Set(observation.queuedRequestMessageIds);
  const queuedKeys = new Set(observation.queuedTrackingKeys);
  const active = new Set(
    observation.associations
      .filter((association) => association.DomainPackageStatus === 'ACTIVE')
      .map((association) => `${association.DomainName}/${association.PackageID}`),
  );

  const examples: Record<string, Example[]> = {};
  const counts = {
    succeeded: 0,
    inFlight: 0,
    deadLetteredWithoutTerminalEvent: 0,
    lost: 0,
    duplicateTerminalEvents: 0,
    repeatedRejections: 0,
    duplicateDeadLetters: 0,
    duplicateStartedEvents: 0,
    unexpectedOutcomes: 0,
    failedWithoutDeadLetter: 0,
    invalidNotDeadLetteredVerbatim: 0,
    succeededButNotActive: 0,
    freeTextChanged: 0,
  };
  const flag = (name: keyof typeof counts, request: PlannedRequest, detail: string) => {
    counts[name] += 1;
    const list = examples[name] ?? [];
    if (list.length < MAX_EXAMPLES)
      list.push({ requestId: request.id, kind: request.kind, idempotencyKey: keyOf(request), detail });
    examples[name] = list;
  };
  const failedByReason: Record<string, number> = {};
  const requestsByKind: Record<string, number> = {};

  for (const request of requests) {
    increment(requestsByKind, request.kind);
    const messageIds = (messageIdsOf.get(String(request.id)) ?? []).map((message) => message.messageId);
    if (isRejectedKind(request)) {
      for (const messageId of messageIds) checkRejection(request, messageId);
      continue;
    }
    checkRequest(request, messageIds);
  }

  /** One rejected message: one Rejected event and one dead letter, its body byte for byte. */
  function checkRejection(request: PlannedRequest, messageId: string) {
    const said = rejectionsByMessage.get(messageId) ?? [];
    const letters = lettersByMessage.get(messageId) ?? [];
    if (said.length > 1)
      flag('repeatedRejections', request, `${said.length} Rejected events for ${messageId}`);
    if (letters.length > 1)
      flag('duplicateDeadLetters', request, `${letters.length} dead letters for ${messageId}`);
    const first = said[0];
    if (first === undefined) {
      if (queuedMessages.has(messageId)) counts.inFlight += 1;
      else if (letters.length > 0) flag('deadLetteredWithoutTerminalEvent', request, messageId);
      else flag('lost', request, `sent as ${messageId}`);
      return;
    }
    increment(failedByReason, first.errorCode ?? 'unknown');
    if (!matchesExpected(request.expected, first)) {
      flag('unexpectedOutcomes', request, `expected ${request.expected.reason}, got ${describe(first)}`);
    }
    if (!letters.some((message) => message.reasonCode === first.errorCode && message.body === request.body)) {
      flag('invalidNotDeadLetteredVerbatim', request, `${letters.length} dead letters for ${messageId}`);
    }
  }

  /** One request, however many copies were sent: one decision, as planned, with its dead letter if any. */
  function checkRequest(request: PlannedRequest, messageIds: string[]) {
    const key = keyOf(request);
    const own = eventsByKey.get(key) ?? [];
    const terminal = own.filter((event) => TERMINAL_TYPES.has(event.detailType));
    const letters = [
      ...messageIds.flatMap((id) => lettersByMessage.get(id) ?? []),
      ...(trackingLettersByKey.get(key) ?? []),
    ];
    if (terminal.length > 1) flag('duplicateTerminalEvents', request, terminal.map(describe).join(', '));
    if (own.filter((event) => event.detailType === STARTED).length > 1)
      flag('duplicateStartedEvents', request, key);
    if (letters.filter((letter) => letter.reasonCode !== undefined).length > 1) {
      flag(
        'duplicateDeadLetters',
        request,
        letters.map((letter) => letter.reasonCode ?? REDRIVEN).join(', '),
      );
    }
    const first = terminal[0];
    if (first === undefined) {
      if (messageIds.some((id) => queuedMessages.has(id)) || queuedKeys.has(key)) counts.inFlight += 1;
      else if (letters.length > 0) {
        flag(
          'deadLetteredWithoutTerminalEvent',
          request,
          letters.map((m) => m.reasonCode ?? REDRIVEN).join(', '),
        );
      } else flag('lost', request, `sent as ${messageIds.join(', ')}`);
      return;
    }
    if (first.detailType === SUCCEEDED) counts.succeeded += 1;
    else increment(failedByReason, first.errorCode ?? 'unknown');
    const allowed =
      matchesExpected(request.expected, first) ||
      (first.detailType === FAILED && first.errorCode === 'RetriesExhausted');
    if (!allowed) {
      const planned = describe({
        ...first,
        detailType: request.expected.detailType,
        errorCode: request.expected.reason,
      });
      flag('unexpectedOutcomes', request, `expected ${planned}, got ${describe(first)}`);
    }
    const needsDeadLetter = first.detailType === FAILED && DEAD_LETTERED_REASONS.has(first.errorCode ?? '');
    if (needsDeadLetter && !letters.some((message) => message.reasonCode === first.errorCode)) {
      flag('failedWithoutDeadLetter', request, describe(first));
    }
    if (first.detailType === SUCCEEDED && !active.has(`${request.domainName}/${request.packageId}`)) {
      flag('succeededButNotActive', request, `${request.domainName}/${request.packageId}`);
    }
    const asked = (JSON.parse(request.body) as { requestedBy?: string }).requestedBy;
    const changed = own.find((event) => event.requestedBy !== asked);
    if (changed !== undefined)
      flag('freeTextChanged', request, `${JSON.stringify(changed.requestedBy)} for ${JSON.stringify(asked)}`);
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
    failedByReason,
    requestDeadLettersByReason,
    trackingDeadLettersByReason,
    ...counts,
    republishedEvents: republished,
    unattributedEvents,
    associatePackage: {
      ...observation.associatePackage,
      requestsReachingAws: requests.filter((request) => reachesAws.has(request.kind)).length,
      associatedPairs,
      pairsOperatedTwice: Object.fromEntries(
        Object.entries(observation.operationsByPair ?? {}).filter(([, operations]) => operations > 1),
      ),
    },
    examples,
  };
  return { ...result, violations: violationsOf(result) };
}

function violationsOf(result: Omit<Reconciliation, 'violations'>): string[] {
  const violations: string[] = [];
  const mustBeZero: [number, string][] = [
    [result.lost, 'requests lost (no decision, no dead letter, nothing queued)'],
    [result.duplicateTerminalEvents, 'requests with more than one decision'],
    [result.repeatedRejections, 'messages rejected more than once'],
    [result.duplicateDeadLetters, 'requests or messages dead-lettered more than once'],
    [result.duplicateStartedEvents, 'requests announced Started more than once'],
    [result.unexpectedOutcomes, 'requests that ended otherwise than planned'],
    [result.failedWithoutDeadLetter, 'Failed events without the dead letter their reason calls for'],
    [
      result.invalidNotDeadLetteredVerbatim,
      'rejected messages not in the DLQ byte for byte with their reason',
    ],
    [result.unattributedEvents, 'events for no request that was sent'],
    [result.succeededButNotActive, 'Succeeded events for pairs the emulator does not report ACTIVE'],
    [result.freeTextChanged, 'requests whose requestedBy reached an event changed'],
  ];
  for (const [count, what] of mustBeZero) if (count > 0) violations.push(`${count} ${what}`);
  const { succeeded, associatedPairs, pairsOperatedTwice } = result.associatePackage;
  const twice = Object.entries(pairsOperatedTwice).map(([pair, operations]) => `${pair} ×${operations}`);
  if (succeeded > associatedPairs || twice.length > 0) {
    const which = twice.length > 0 ? `: ${twice.join(', ')}` : ': some pair was associated twice';
    violations.push(
      `${succeeded} successful AssociatePackage calls for ${associatedPairs} (domain, package) pairs${which}`,
    );
  }
  return violations;
}
