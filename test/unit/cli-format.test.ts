import { describe, expect, it } from 'vitest';
import {
  deadLetterView,
  formatDeadLetter,
  formatDomainPackage,
  formatEventLine,
  formatReasonCounts,
  formatRecord,
  parseEnvelope,
  summarizeBody,
} from '../../src/cli/format.ts';
import { deadLetter } from '../../src/domain/dlq.ts';

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

  it('recognises only EventBridge envelopes', () => {
    expect(parseEnvelope('not json')).toBeUndefined();
    expect(parseEnvelope('{"domainName":"orders-logs"}')).toBeUndefined();
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

describe('formatRecord', () => {
  it('prints the stage, state, outcome with its reason, expiry and record id', () => {
    expect(
      formatRecord({
        stage: 'associate',
        recordId: 'associate-package#abc==',
        state: 'completed',
        status: 'COMPLETED',
        expiresAt: new Date('2026-03-02T10:00:00.000Z'),
        inProgressUntil: undefined,
        outcome: { outcome: 'failed', reason: 'ValidationException' },
      }),
    ).toBe(
      'associate  completed  outcome=failed (ValidationException)  expires=2026-03-02T10:00:00.000Z  record=associate-package#abc==',
    );
  });
});
