import { describe, expect, it } from 'vitest';
import {
  dynamoDBClient,
  eventBridgeClient,
  openSearchClient,
  openSearchOperationsClient,
  ThrottlingRetriesOnly,
} from '../../src/adapters/clients.ts';

/** The retry mode of a client's strategy: both SDK strategies name theirs. */
const modeOf = async (client: { config: { retryStrategy: () => Promise<unknown> } }) =>
  ((await client.config.retryStrategy()) as { mode?: string }).mode;

describe('the SDK clients', () => {
  it('retry the idempotency store harder than the SDK default, which the other clients keep', async () => {
    // A store write that fails for good after PutEvents lets a retry announce the event again.
    expect(await dynamoDBClient.config.maxAttempts()).toBe(5);
    expect(await eventBridgeClient.config.maxAttempts()).toBe(3);
  });

  it('read OpenSearch in the standard mode, with the SDK default of three attempts', async () => {
    // The adaptive mode stalled a burst under random throttling (docs/PERFORMANCE.md, section 8).
    expect(await modeOf(openSearchClient)).toBe('standard');
    expect(await openSearchClient.config.maxAttempts()).toBe(3);
  });

  it('make package operations with a strategy of their own (which retries only throttles)', async () => {
    expect(await openSearchOperationsClient.config.retryStrategy()).toBeInstanceOf(ThrottlingRetriesOnly);
  });
});
