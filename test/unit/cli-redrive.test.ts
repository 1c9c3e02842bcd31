import { describe, expect, it } from 'vitest';
import { asNewRequest, redriveKey } from '../../cli/redrive.ts';
import { checkRequestBody } from '../../cli/requests.ts';
import { DEAD_LETTER_REASON_CODES, isDeadLetterReasonCode } from '../../src/domain/dlq.ts';

describe('redriveKey', () => {
  it('appends :redrive-1, and counts up on a key that already is a redrive', () => {
    expect(redriveKey('order-42')).toBe('order-42:redrive-1');
    expect(redriveKey('order-42:redrive-1')).toBe('order-42:redrive-2');
    expect(redriveKey('order-42:redrive-9')).toBe('order-42:redrive-10');
    expect(redriveKey('a:redrive-x')).toBe('a:redrive-x:redrive-1');
  });

  it('keeps a long key within 128 characters, different for keys that share their start', () => {
    const long = (tail: string) => `${'k'.repeat(124)}${tail}`;
    const [a, b] = [redriveKey(long('aaaa')), redriveKey(long('bbbb'))];

    expect(a).toHaveLength(128);
    expect(b).toHaveLength(128);
    expect(a).not.toBe(b);
    expect(a).toMatch(/^k+\.[0-9a-f]{16}:redrive-1$/);
    expect(redriveKey(a)).toMatch(/:redrive-2$/);
    expect(redriveKey(a).length).toBeLessThanOrEqual(128);
  });
});

describe('asNewRequest', () => {
  it('gives the request the next key and keeps the correlation id its first run had', () => {
    const body = '{"domainName":"orders-logs","packageId":"F1","idempotencyKey":"k-1"}';

    const asNew = asNewRequest(body, 'msg-1');

    expect(asNew).toEqual({
      ok: true,
      oldKey: 'k-1',
      newKey: 'k-1:redrive-1',
      body: '{"domainName":"orders-logs","packageId":"F1","idempotencyKey":"k-1:redrive-1","correlationId":"k-1"}',
    });
    if (asNew.ok) expect(checkRequestBody(asNew.body)).toEqual({ ok: true });
  });

  it("derives the key from the first message's id when the body named none, and keeps its own correlation id", () => {
    const asNew = asNewRequest('{"domainName":"orders-logs","packageId":"F1","correlationId":"c"}', 'msg-1');

    expect(asNew).toMatchObject({ ok: true, oldKey: 'msg-1', newKey: 'msg-1:redrive-1' });
    if (asNew.ok) expect(JSON.parse(asNew.body)).toMatchObject({ correlationId: 'c' });
  });

  it('refuses a body that is not a JSON object', () => {
    expect(asNewRequest('not json', 'm')).toEqual({
      ok: false,
      problem: 'not JSON, so not a request to give a new key',
    });
    expect(asNewRequest('[1]', 'm')).toMatchObject({ ok: false });
  });
});

describe('dead letter reason codes', () => {
  it("knows the rejections', the decisions' and the permanent AWS errors' codes, and other AWS error names", () => {
    expect(DEAD_LETTER_REASON_CODES).toEqual(
      expect.arrayContaining([
        'InvalidRequest',
        'DomainNotAllowed',
        'RoleNotAllowed',
        'IdempotencyKeyConflict',
        'RetriesExhausted',
        'AssociationFailed',
        'AccessDeniedException',
      ]),
    );
    expect(isDeadLetterReasonCode('LimitExceededException')).toBe(true);
    expect(isDeadLetterReasonCode('RetryExhausted')).toBe(false);
    expect(isDeadLetterReasonCode('retriesexhausted')).toBe(false);
  });
});
