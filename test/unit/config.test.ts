import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

const minimal = {
  EVENT_BUS_NAME: 'bus',
  DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
  REQUESTS_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/requests',
  TRACKING_QUEUE_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/tracking',
  TRACKING_DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/tracking-dlq',
  LEDGER_TABLE: 'ledger',
  ALLOWED_DOMAINS: 'catalog-search,orders-*',
  MAX_ATTEMPTS: '8',
};

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const config = loadConfig(minimal);
    expect(config).toMatchObject({
      eventSource: 'package-associator',
      maxAttempts: 8,
      retryBudgetSeconds: 3600,
      idempotencyTtlSeconds: 86_400,
      backoff: { baseSeconds: 5, maxSeconds: 900 },
      tracking: { firstDelaySeconds: 15, maxDelaySeconds: 300, deadlineSeconds: 1800 },
    });
    expect(config.allowList.entries).toEqual(['catalog-search', 'orders-*']);
  });

  it('stops at start naming every missing setting', () => {
    const { EVENT_BUS_NAME: _bus, ALLOWED_DOMAINS: _allowed, ...missing } = minimal;
    expect(() => loadConfig(missing)).toThrow(
      'Invalid configuration: EVENT_BUS_NAME: is required; ALLOWED_DOMAINS: is required',
    );
  });

  it.each(['eight', '0x8', '1e1', '8.0', ' 8', '-8'])(
    'takes MAX_ATTEMPTS=%j for no number: decimal digits only',
    (raw) => {
      expect(() => loadConfig({ ...minimal, MAX_ATTEMPTS: raw })).toThrow(
        'MAX_ATTEMPTS: must be a whole number in decimal digits',
      );
    },
  );

  it.each([
    'not a url',
    'arn:aws:sqs:eu-west-1:123456789012:dlq',
    'http://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
    'https://sqs.eu-west-1.amazonaws.com.evil.example/123456789012/dlq',
    'https://sqs.eu-west-1.amazonaws.com/dlq',
  ])('refuses DLQ_URL=%j: an SQS queue URL is https, on an SQS host, with an account and a name', (raw) => {
    expect(() => loadConfig({ ...minimal, DLQ_URL: raw })).toThrow(
      'DLQ_URL: must be an SQS queue URL (https://sqs.<region>.amazonaws.com/<account>/<queue>)',
    );
  });

  it('accepts queue URLs of the endpoint the SDK is pointed at (the local stack), and only those', () => {
    const local = {
      ...minimal,
      AWS_ENDPOINT_URL: 'http://127.0.0.1:4566',
      DLQ_URL: 'http://127.0.0.1:4566/000000000000/dlq',
    };
    expect(loadConfig(local).dlqUrl).toBe('http://127.0.0.1:4566/000000000000/dlq');
    expect(() => loadConfig({ ...local, DLQ_URL: 'http://127.0.0.1:9999/000000000000/dlq' })).toThrow(
      'or a queue of http://127.0.0.1:4566',
    );
  });

  it('keeps the backoff within what SQS allows a visibility timeout after a receive', () => {
    expect(loadConfig({ ...minimal, BACKOFF_MAX_SECONDS: '42300' }).backoff.maxSeconds).toBe(42_300);
    expect(() => loadConfig({ ...minimal, BACKOFF_MAX_SECONDS: '43200' })).toThrow(
      'BACKOFF_MAX_SECONDS: must be from 1 to 42300',
    );
  });

  it('reads the key-access roles, and refuses anything but IAM role ARNs', () => {
    const role = 'arn:aws:iam::123456789012:role/keys';
    expect([...loadConfig({ ...minimal, KEY_ACCESS_ROLE_ARNS: ` ${role}, ` }).keyAccessRoleArns]).toEqual([
      role,
    ]);
    expect(loadConfig(minimal).keyAccessRoleArns.size).toBe(0);
    expect(() =>
      loadConfig({ ...minimal, KEY_ACCESS_ROLE_ARNS: `${role},arn:aws:iam::123456789012:user/me` }),
    ).toThrow('KEY_ACCESS_ROLE_ARNS: must be IAM role ARNs');
  });

  it('names a malformed setting and its rule', () => {
    expect(() => loadConfig({ ...minimal, ALLOWED_DOMAINS: 'a*b' })).toThrow(
      'Invalid configuration: ALLOWED_DOMAINS: "a*b" is neither a domain name',
    );
    expect(() => loadConfig({ ...minimal, TRACKING_MAX_DELAY_SECONDS: '901' })).toThrow(
      'TRACKING_MAX_DELAY_SECONDS: must be from 1 to 900',
    );
    expect(() => loadConfig({ ...minimal, RETRY_BUDGET_SECONDS: '0' })).toThrow(
      'RETRY_BUDGET_SECONDS: must be from 1 to 604800',
    );
  });
});
