import { describe, expect, it } from 'vitest';
import { dynamoDBClient, eventBridgeClient, openSearchClient } from '../../src/adapters/clients.ts';

/** The retry mode of a client's strategy: both SDK strategies name theirs. */
const modeOf = async (client: { config: { retryStrategy: () => Promise<unknown> } }) =>
  ((await client.config.retryStrategy()) as { mode?: string }).mode;

describe('the SDK clients', () => {
  it('retry the idempotency store harder than the SDK default, which the other clients keep', async () => {
    // A store write that fails for good after PutEvents lets a retry announce the event again.
    expect(await dynamoDBClient.config.maxAttempts()).toBe(5);
    expect(await eventBridgeClient.config.maxAttempts()).toBe(3);
  });

  it('pace OpenSearch calls adaptively, with the SDK default of three attempts', async () => {
    // The configuration API throttles per account: the adaptive mode slows this client down when it does.
    expect(await modeOf(openSearchClient)).toBe('adaptive');
    expect(await openSearchClient.config.maxAttempts()).toBe(3);
    expect(await modeOf(dynamoDBClient)).toBe('standard');
  });
});
