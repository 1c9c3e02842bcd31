import { describe, expect, it } from 'vitest';
import { dynamoDBClient, eventBridgeClient } from '../../src/adapters/clients.ts';

describe('the SDK clients', () => {
  it('retry the idempotency store harder than the SDK default, which the other clients keep', async () => {
    // A store write that fails for good after PutEvents lets a retry announce the event again.
    expect(await dynamoDBClient.config.maxAttempts()).toBe(5);
    expect(await eventBridgeClient.config.maxAttempts()).toBe(3);
  });
});
