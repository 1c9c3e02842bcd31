import { describe, expect, it } from 'vitest';
import {
  deadLetterView,
  formatDeadLetter,
  formatDomainPackage,
  formatEventLine,
  formatReasonCounts,
  formatRecordView,
  inTimeOrder,
  parseEnvelope,
  summarizeBody,
} from '../../cli/format.ts';
import type { RecordView } from '../../cli/ledger.ts';
import { deadLetter } from '../../src/domain/dlq.ts';
import { type AssociationEvent, rejectedEvent, succeededEvent } from '../../src/domain/events.ts';

describe('parseEnvelope and formatEventLine', () => {
  it('prints a failed event with its status, code and message', () => {
    const envelope = parseEnvelope(
      JSON.stringify({
        'detail-type': 'PackageAssociationFailed',
        time: '2026-03-01T10:00:00Z',
        detail: {
          idempotencyKey: 'k',
          domainName: 'orders-logs',
          packageId: 'pkg-0a',
          status: 'ASSOCIATION_FAILED',
          error: { code: 'AssociationFailed', message: 'plugin incompatible', retryable: false },
        },
      }),
    );

    expect(envelope && formatEventLine(envelope)).toBe(
      '2026-03-01T10:00:00Z  PackageAssociationFailed     orders-logs  pkg-0a  key=k  ASSOCIATION_FAILED AssociationFailed: plugin incompatible',
    );
  });

  /** The event as EventBridge delivers it to a subscriber queue. */
  function delivered(event: AssociationEvent): string {
    return JSON.stringify({
      version: '0',
      id: 'bus-id',
      'detail-type': event.detailType,
      source: 'package-associator',
      time: '2026-03-01T10:00:00Z',
      detail: event.detail,
    });
  }
  const stamp = { eventId: 'ev-1', attempt: 1, occurredAt: new Date('2026-03-01T10:00:00.000Z') };

  it("prints a request event's eventId after its key", () => {
    const event = succeededEvent(
      {
        action: 'associate',
        idempotencyKey: 'k',
        correlationId: 'c',
        domainName: 'orders-logs',
        packageId: 'F1',
      },
      { status: 'ACTIVE' },
      stamp,
    );

    const envelope = parseEnvelope(delivered(event));

    expect(envelope && formatEventLine(envelope)).toBe(
      '2026-03-01T10:00:00Z  PackageAssociationSucceeded  orders-logs  F1  key=k  event=ev-1  ACTIVE',
    );
  });

  it('prints a rejection with its message id, the key it asked for and its error code, never as key=', () => {
    const conflict = rejectedEvent(
      'msg-7',
      { idempotencyKey: 'k', domainName: 'orders-logs', packageId: 'F1' },
      { code: 'IdempotencyKeyConflict', message: 'k was used for another request' },
      stamp,
    );
    const unreadable = rejectedEvent(
      'msg-8',
      {},
      { code: 'InvalidRequest', message: 'body: must be valid JSON' },
      stamp,
    );

    const lines = [conflict, unreadable].map((event) => {
      const envelope = parseEnvelope(delivered(event));
      return envelope && formatEventLine(envelope);
    });

    expect(lines).toEqual([
      '2026-03-01T10:00:00Z  PackageRequestRejected       orders-logs  F1  message=msg-7  requested-key=k  event=ev-1  IdempotencyKeyConflict: k was used for another request',
      '2026-03-01T10:00:00Z  PackageRequestRejected       -  -  message=msg-8  event=ev-1  InvalidRequest: body: must be valid JSON',
    ]);
  });

  it('recognises only EventBridge envelopes', () => {
    expect(parseEnvelope('not json')).toBeUndefined();
    expect(parseEnvelope('{"domainName":"orders-logs"}')).toBeUndefined();
  });
});

describe('inTimeOrder', () => {
  const at = (detailType: string, occurredAt: string | undefined, attempt: number, name: string) => {
    const envelope = parseEnvelope(
      JSON.stringify({
        'detail-type': detailType,
        time: '2026-03-01T10:00:09Z',
        detail: { occurredAt, attempt },
      }),
    );
    if (envelope === undefined) throw new Error('not an envelope');
    return { envelope, name };
  };

  it('orders by occurredAt, then a start before an end, then by attempt, else as received', () => {
    const events = [
      at('PackageAssociationSucceeded', '2026-03-01T10:00:01.000Z', 2, 'succeeded'),
      at('PackageAssociationFailed', '2026-03-01T10:00:00.500Z', 1, 'failed'),
      at('PackageAssociationStarted', '2026-03-01T10:00:01.000Z', 2, 'started again'),
      at('PackageAssociationStarted', '2026-03-01T10:00:00.500Z', 1, 'started'),
      at('PackageRequestRejected', undefined, 1, 'rejected, by its envelope time'),
      at('PackageAssociationStarted', '2026-03-01T10:00:01.000Z', 1, 'started first'),
    ];

    expect(inTimeOrder(events).map(({ name }) => name)).toEqual([
      'started',
      'failed',
      'started first',
      'started again',
      'succeeded',
      'rejected, by its envelope time',
    ]);
  });
});

describe('dead letters', () => {
  const letter = deadLetter({
    body: '{"domainName":"orders-logs","packageId":"F1","idempotencyKey":"k-9"}',
    reasonCode: 'DomainNotAllowed',
    errorMessage: 'domainName: orders-logs is not in the allow-list of this service',
    attempt: 2,
    sourceMessageId: 'src-9',
    failedAt: new Date('2026-03-01T08:00:00.000Z'),
  });
  const view = deadLetterView({
    MessageId: 'dlq-1',
    Body: letter.body,
    MessageAttributes: letter.attributes,
    Attributes: { ApproximateReceiveCount: '3' },
  });

  it("reads the service's reason attributes", () => {
    expect(view).toEqual({
      messageId: 'dlq-1',
      reasonCode: 'DomainNotAllowed',
      errorMessage: 'domainName: orders-logs is not in the allow-list of this service',
      attempt: 2,
      sourceMessageId: 'src-9',
      failedAt: '2026-03-01T08:00:00.000Z',
      receiveCount: 3,
      body: letter.body,
    });
  });

  it('shows which request it was and why it failed, without the whole body', () => {
    expect(formatDeadLetter(view)).toEqual([
      '2026-03-01T08:00:00.000Z  DomainNotAllowed  attempt=2  source=src-9  message=dlq-1  domain=orders-logs package=F1 key=k-9',
      '    domainName: orders-logs is not in the allow-list of this service',
    ]);
    expect(summarizeBody('[1,2]')).toBe('body: 5 bytes, not a JSON object');
  });

  it('counts reasons, most frequent first', () => {
    const other = { ...view, reasonCode: 'InvalidRequest' };
    expect(formatReasonCounts([view, other, other, { ...view, reasonCode: undefined }])).toBe(
      'InvalidRequest 2, (none) 1, DomainNotAllowed 1',
    );
  });
});

describe('formatDomainPackage', () => {
  it('prints status, package details and the error AWS reported', () => {
    expect(
      formatDomainPackage({
        DomainName: 'catalog-search',
        PackageID: 'pkg-5f',
        PackageName: 'legacy-tokenizer-plugin',
        PackageType: 'ZIP-PLUGIN',
        DomainPackageStatus: 'ASSOCIATION_FAILED',
        PackageVersion: '2023.11.0',
        LastUpdated: new Date('2026-03-01T08:00:00.000Z'),
        ErrorDetails: { ErrorType: 'PluginInstallationFailed', ErrorMessage: 'not compatible' },
      }),
    ).toBe(
      'catalog-search  pkg-5f  ASSOCIATION_FAILED  name=legacy-tokenizer-plugin  type=ZIP-PLUGIN  version=2023.11.0  reference=-  updated=2026-03-01T08:00:00.000Z  error=PluginInstallationFailed: not compatible',
    );
  });
});

describe('formatRecordView', () => {
  const base = {
    expiresAt: new Date('2026-03-02T10:00:40.000Z'),
    expired: false,
    pending: [],
  };
  const request: RecordView = {
    ...base,
    kind: 'request',
    id: 'request#k-1',
    idempotencyKey: 'k-1',
    incarnation: 'inc-1',
    state: 'ACCEPTED',
    domainName: 'orders-logs',
    packageId: 'F222222222',
    correlationId: 'c-1',
    sourceMessageId: 'msg-1',
    attempts: 2,
    acceptedAt: new Date('2026-03-01T10:00:00.000Z'),
    lease: { status: 'held', owner: 'invocation-a', until: new Date('2026-03-01T10:00:30.000Z') },
    callUncertain: false,
  };

  it('shows a running request: what it asks, its attempts, acceptance, lease and window', () => {
    expect(formatRecordView(request)).toEqual([
      'request k-1: ACCEPTED',
      '  asks          F222222222 on orders-logs',
      '  correlation   c-1',
      '  incarnation   inc-1',
      '  message       msg-1 (the copy accepted first)',
      '  attempts      2',
      '  accepted      2026-03-01T10:00:00.000Z',
      '  lease         held by invocation-a until 2026-03-01T10:00:30.000Z',
      '  window        ends 2026-03-02T10:00:40.000Z',
      '  pending       nothing',
    ]);
  });

  it('says when a lease is free or expired, and the last error and an uncertain call of a retried request', () => {
    const free = formatRecordView({
      ...request,
      lease: { status: 'free' },
      lastError: 'ThrottlingException',
      callUncertain: true,
    });
    const expired = formatRecordView({
      ...request,
      lease: { status: 'expired', owner: 'invocation-a', until: new Date('2026-03-01T10:00:30.000Z') },
    });

    expect(free).toContain('  lease         free');
    expect(free).toContain('  last error    ThrottlingException');
    expect(free).toContain('  last call     uncertain (the next attempt reads the domain first)');
    expect(expired).toContain(
      '  lease         expired: invocation-a held it until 2026-03-01T10:00:30.000Z (its invocation died; any copy may take over)',
    );
  });

  it('shows the deadline of a followed request and each pending send, one per line', () => {
    const lines = formatRecordView({
      ...request,
      state: 'TRACKING',
      lease: { status: 'free' },
      deadline: new Date('2026-03-01T10:30:00.000Z'),
      pending: [
        { id: 'ev-1', kind: 'event', eventId: 'ev-1', detailType: 'PackageAssociationStarted' },
        { id: 'tracking-1', kind: 'tracking', delaySeconds: 15 },
      ],
    });

    expect(lines.slice(-4)).toEqual([
      '  deadline      2026-03-01T10:30:00.000Z (tracking gives up then)',
      '  window        ends 2026-03-02T10:00:40.000Z',
      '  pending       event PackageAssociationStarted ev-1',
      '                tracking message (first check after 15 s)',
    ]);
  });

  it('shows the decision with its reason and time, and a window that has ended', () => {
    const lines = formatRecordView({
      ...request,
      state: 'FAILED',
      lease: { status: 'free' },
      deadline: new Date('2026-03-01T10:30:00.000Z'),
      decision: { reason: 'TimedOut', decidedAt: new Date('2026-03-01T10:30:01.000Z') },
      expired: true,
      pending: [{ id: 'dl-1', kind: 'dead-letter', deadLetterId: 'dl-1', reasonCode: 'TimedOut' }],
    });

    expect(lines[0]).toBe('request k-1: FAILED');
    expect(lines.slice(-3)).toEqual([
      '  decided       TimedOut at 2026-03-01T10:30:01.000Z',
      '  window        ended 2026-03-02T10:00:40.000Z',
      '  pending       dead letter TimedOut dl-1',
    ]);
    expect(lines.some((line) => line.startsWith('  deadline'))).toBe(false);
  });

  it('shows a rejection with its message, reason and window', () => {
    expect(
      formatRecordView({
        ...base,
        kind: 'rejection',
        id: 'rejection#msg-9',
        messageId: 'msg-9',
        state: 'REJECTED',
        reason: 'DomainNotAllowed',
      }),
    ).toEqual([
      'rejection of message msg-9: REJECTED',
      '  reason        DomainNotAllowed',
      '  window        ends 2026-03-02T10:00:40.000Z',
      '  pending       nothing',
    ]);
  });
});
