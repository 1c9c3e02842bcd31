/**
 * The floor of the per-record benchmark: the least any handler must do for a clean batch, written by hand.
 * It parses each body and makes the same calls on the same fakes as the real handler's success path (claim
 * the key, AssociatePackage, one SendMessageBatch of tracking messages and one PutEvents for the batch, record
 * the outcome), with no
 * validation, no error handling, no logging and no metrics.
 */
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { OutgoingMessage } from '../../src/adapters/queues.ts';
import type { AssociationRequest } from '../../src/domain/request.ts';
import type { FakeAws } from '../lib/fakes.ts';

export function createFloorHandler({ deps, store }: FakeAws) {
  const { config } = deps;
  return async function floorHandler(event: SQSEvent): Promise<SQSBatchResponse> {
    const entries: PutEventsRequestEntry[] = [];
    const trackingMessages: OutgoingMessage[] = [];
    const requests = await Promise.all(
      event.Records.map(async (record) => {
        const request = JSON.parse(record.body) as AssociationRequest;
        await store.claim(request.idempotencyKey, Date.now() / 1000 + config.idempotencyTtlSeconds);
        const details = await deps.associations.associate(request);
        trackingMessages.push({ body: record.body, delaySeconds: config.tracking.firstDelaySeconds });
        entries.push({
          EventBusName: config.eventBusName,
          Source: config.eventSource,
          DetailType: 'PackageAssociationStarted',
          Detail: JSON.stringify({ ...request, ...details }),
        });
        return request;
      }),
    );
    await deps.queues.sendBatch(config.trackingQueueUrl, trackingMessages);
    await deps.eventBridge.send(new PutEventsCommand({ Entries: entries }));
    await Promise.all(
      requests.map((request) => store.complete(request.idempotencyKey, { outcome: 'started' })),
    );
    return { batchItemFailures: [] };
  };
}
