import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';

const minimal = {
  EVENT_BUS_NAME: 'bus',
  DLQ_URL: 'https://sqs.eu-west-1.amazonaws.com/123456789012/dlq',
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

  it('names a malformed setting and its rule', () => {
    expect(() => loadConfig({ ...minimal, MAX_ATTEMPTS: 'eight' })).toThrow('MAX_ATTEMPTS: must be a number');
    expect(() => loadConfig({ ...minimal, DLQ_URL: 'not a url' })).toThrow(/DLQ_URL: must be a URL/);
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
