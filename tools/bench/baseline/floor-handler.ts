/**
 * The floor of the per-record benchmark: the least any handler must do for a clean batch, written by hand.
 * It parses each body and makes the same calls on the same fakes as the real handler's success path (claim the
 * request's ledger record, AssociatePackage, write it followed, one PutEvents and one
 * SendMessageBatch of tracking messages for the batch, clear the outbox), with no validation, no error
 * handling, no outbox bookkeeping, no logging and no metrics.
 */
import { PutEventsCommand, type PutEventsRequestEntry } from '@aws-sdk/client-eventbridge';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import type { OutgoingMessage } from '../../../src/adapters/queues.ts';
import type { LedgerRecord } from '../../../src/domain/ledger.ts';
import type { AssociationRequest } from '../../../src/domain/request.ts';
import type { FakeAws } from '../lib/fakes.ts';

export function createFloorHandler({ deps, ledger }: FakeAws) {
  const { config } = deps;
  return async function floorHandler(event: SQSEvent): Promise<SQSBatchResponse> {
    const entries: PutEventsRequestEntry[] = [];
    const trackingMessages: OutgoingMessage[] = [];
    const followed = await Promise.all(
      event.Records.map(async (record) => {
        const request = JSON.parse(record.body) as AssociationRequest;
        const id = `request#${request.idempotencyKey}`;
        const claim = { id, state: 'ACCEPTED', outbox: {} } as unknown as LedgerRecord;
        const claimed = await ledger.write(claim, undefined, record.messageId);
        const current = claimed.written ? claimed.record : undefined;
        const details = await deps.associations.associate(request);
        const follow = { ...current, state: 'TRACKING', details } as LedgerRecord;
        const written = await ledger.write(follow, current, `${record.messageId}-follow`);
        trackingMessages.push({ body: record.body, delaySeconds: config.tracking.firstDelaySeconds });
        entries.push({
          EventBusName: config.eventBusName,
          Source: config.eventSource,
          DetailType: 'PackageAssociationStarted',
          Detail: JSON.stringify({ ...request, ...details }),
        });
        return written.written ? written.record : follow;
      }),
    );
    await deps.eventBridge.send(new PutEventsCommand({ Entries: entries }));
    await deps.queues.sendBatch(config.trackingQueueUrl, trackingMessages);
    await Promise.all(
      followed.map((record) => ledger.write({ ...record, outbox: {} }, record, `${record.id}-clear`)),
    );
    return { batchItemFailures: [] };
  };
}
