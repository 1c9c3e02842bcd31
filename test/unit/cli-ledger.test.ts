import { describe, expect, it } from 'vitest';
import { readRecordView, recordIdOf, viewRejection, viewRequest } from '../../cli/ledger.ts';
import type { LedgerRecord, RequestRecord, StoredRequest } from '../../src/domain/ledger.ts';
import { pendingEntries } from '../../src/domain/ledger.ts';
import {
  acceptRequest,
  cleared,
  decide,
  follow,
  rejectMessage,
  release,
  type TransitionContext,
  takeOver,
} from '../../src/domain/transitions.ts';

// Records built by the service's own transitions, so a change to what they store shows up here.
const acceptedAt = new Date('2026-03-01T10:00:00.000Z');
const at = (seconds: number) => new Date(acceptedAt.getTime() + seconds * 1000);
let ids = 0;
const context = (now: Date): TransitionContext => ({
  now,
  newId: () => `id-${++ids}`,
  windowSeconds: 86_400,
});
const request: StoredRequest = {
  idempotencyKey: 'k-1',
  correlationId: 'c-1',
  domainName: 'orders-logs',
  packageId: 'F222222222',
  requestedBy: 'Zoë',
};

function accepted(): RequestRecord {
  return acceptRequest(context(acceptedAt), {
    request,
    fingerprint: 'f',
    body: JSON.stringify(request),
    messageId: 'msg-1',
    lease: { owner: 'invocation-a', until: at(30).getTime() },
    lifetimeSeconds: 7200,
  });
}

describe('viewRequest', () => {
  it('shows an accepted request with its lease held, then expired once its holder is past its deadline', () => {
    const record = accepted();

    const view = viewRequest(record, at(5));

    expect(view).toEqual({
      kind: 'request',
      id: 'request#k-1',
      idempotencyKey: 'k-1',
      incarnation: record.incarnation,
      state: 'ACCEPTED',
      domainName: 'orders-logs',
      packageId: 'F222222222',
      correlationId: 'c-1',
      requestedBy: 'Zoë',
      sourceMessageId: 'msg-1',
      attempts: 1,
      acceptedAt,
      lease: { status: 'held', owner: 'invocation-a', until: at(30) },
      deadline: undefined,
      decision: undefined,
      lastError: undefined,
      callUncertain: false,
      expiresAt: at(7200),
      expired: false,
      pending: [],
    });
    expect(viewRequest(record, at(30)).lease).toEqual({
      status: 'expired',
      owner: 'invocation-a',
      until: at(30),
    });
  });

  it('shows a released lease as free, with the transient error and an uncertain call', () => {
    const released = release(accepted(), 'ThrottlingException', true);

    const view = viewRequest(released, at(5));

    expect(view.lease).toEqual({ status: 'free' });
    expect(view.lastError).toBe('ThrottlingException');
    expect(view.callUncertain).toBe(true);
    expect(view.decision).toBeUndefined();
    expect(viewRequest(takeOver(released, { owner: 'b', until: at(90).getTime() }), at(60))).toMatchObject({
      attempts: 2,
      lease: { status: 'held', owner: 'b', until: at(90) },
    });
  });

  it('shows a followed request with its deadline and its pending sends in the order they were added', () => {
    const record = follow(
      context(at(2)),
      accepted(),
      { packageName: 'common-stopwords' },
      {
        deadlineSeconds: 1800,
        firstDelaySeconds: 15,
        announce: true,
      },
    );
    const startedId = record.outbox.started?.eventId;

    const view = viewRequest(record, at(3));

    expect(view.state).toBe('TRACKING');
    expect(view.deadline).toEqual(at(1802));
    expect(view.lease).toEqual({ status: 'free' });
    expect(view.pending).toEqual([
      { id: 'started', kind: 'event', eventId: startedId, detailType: 'PackageAssociationStarted' },
      { id: 'tracking', kind: 'tracking', delaySeconds: 15 },
    ]);
  });

  it('shows a decision with its reason, time and window, and what is left to send', () => {
    const failed = decide(context(at(40)), accepted(), {
      outcome: 'failed',
      reason: { code: 'RetriesExhausted', message: 'throttled 8 times', retryable: true },
      details: {},
      deadLetter: true,
    });
    const deadLetterId = failed.outbox.deadLetter?.deadLetterId;
    const eventId = failed.outbox.decision?.eventId;

    const view = viewRequest(failed, at(41));

    expect(view).toMatchObject({
      state: 'FAILED',
      decision: { reason: 'RetriesExhausted', decidedAt: at(40) },
      lastError: undefined,
      expiresAt: at(40 + 86_400),
      expired: false,
    });
    expect(view.pending).toEqual([
      { id: 'deadLetter', kind: 'dead-letter', deadLetterId, reasonCode: 'RetriesExhausted' },
      { id: 'decision', kind: 'event', eventId, detailType: 'PackageAssociationFailed' },
    ]);
    expect(viewRequest(cleared(failed, pendingEntries(failed.outbox)), at(41)).pending).toEqual([]);
    expect(viewRequest(failed, at(40 + 86_400)).expired).toBe(true);
  });
});

describe('viewRejection', () => {
  it('shows the message, its reason, its window and its pending dead letter and event', () => {
    const record = rejectMessage(context(at(0)), {
      messageId: 'msg-#9',
      body: 'not json',
      attempt: 1,
      hint: {},
      code: 'InvalidRequest',
      message: 'body: must be valid JSON',
    });

    const view = viewRejection(record, at(1));

    expect(view).toMatchObject({
      kind: 'rejection',
      id: 'rejection#msg-#9',
      messageId: 'msg-#9',
      state: 'REJECTED',
      reason: 'InvalidRequest',
      expiresAt: at(86_400),
      expired: false,
    });
    expect(view.pending.map((entry) => entry.kind)).toEqual(['dead-letter', 'event']);
    expect(view.pending[1]).toMatchObject({ detailType: 'PackageRequestRejected' });
  });
});

describe('readRecordView', () => {
  function ledgerOf(records: LedgerRecord[]) {
    const asked: string[] = [];
    return {
      asked,
      ledger: {
        async get(id: string) {
          asked.push(id);
          return records.find((record) => record.id === id);
        },
      },
    };
  }

  it('reads request#<key> for a key and rejection#<messageId> for a message', async () => {
    const rejection = rejectMessage(context(at(0)), {
      messageId: 'm-2',
      body: '{}',
      attempt: 1,
      hint: {},
      code: 'InvalidRequest',
      message: 'domainName: is required',
    });
    const { ledger, asked } = ledgerOf([accepted(), rejection]);

    const requestView = await readRecordView(ledger, { kind: 'request', idempotencyKey: 'k-1' }, at(1));
    const rejectionView = await readRecordView(ledger, { kind: 'rejection', messageId: 'm-2' }, at(1));
    const missing = await readRecordView(ledger, { kind: 'request', idempotencyKey: 'm-2' }, at(1));

    expect(asked).toEqual(['request#k-1', 'rejection#m-2', 'request#m-2']);
    expect(requestView).toMatchObject({ kind: 'request', state: 'ACCEPTED', idempotencyKey: 'k-1' });
    expect(rejectionView).toMatchObject({ kind: 'rejection', messageId: 'm-2', reason: 'InvalidRequest' });
    expect(missing).toBeUndefined();
  });

  it('refuses an item whose kind does not match its id, as in a table the service did not write', async () => {
    const foreign = { ...accepted(), kind: undefined } as unknown as LedgerRecord;
    const { ledger } = ledgerOf([foreign]);

    await expect(readRecordView(ledger, { kind: 'request', idempotencyKey: 'k-1' }, at(1))).rejects.toThrow(
      'request#k-1 is not a ledger request record (kind undefined): wrong table?',
    );
  });

  it('names the ids the service writes', () => {
    expect(recordIdOf({ kind: 'request', idempotencyKey: 'a:b/c' })).toBe('request#a:b/c');
    expect(recordIdOf({ kind: 'rejection', messageId: 'x' })).toBe('rejection#x');
  });
});
