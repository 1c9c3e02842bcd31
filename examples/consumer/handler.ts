// A Lambda on the subscriber's queue (the rule's target): each SQS body is one EventBridge event.
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { SQSBatchResponse, SQSEvent } from 'aws-lambda';
import {
  type AssociationEvent,
  actOnce,
  DynamoDbSeenEvents,
  InMemorySeenEvents,
  type SeenEvents,
} from './dedupe.ts';

const table = process.env.SEEN_EVENTS_TABLE;
// Without a table the claims live in this execution environment only: enough to try it, not to rely on.
const seen: SeenEvents =
  table === undefined ? new InMemorySeenEvents() : new DynamoDbSeenEvents(new DynamoDBClient({}), table);

async function act(event: AssociationEvent): Promise<void> {
  const { domainName, packageId } = event.detail;
  console.log(
    JSON.stringify({ message: 'package change', detailType: event['detail-type'], domainName, packageId }),
  );
}

/** Partial batch response (ReportBatchItemFailures on the event source mapping): a failure retries its record only. */
export async function handler(event: SQSEvent): Promise<SQSBatchResponse> {
  const batchItemFailures: SQSBatchResponse['batchItemFailures'] = [];
  for (const record of event.Records) {
    try {
      await actOnce(JSON.parse(record.body) as AssociationEvent, seen, act);
    } catch (error) {
      // The record comes back after its visibility timeout, then goes to the queue's DLQ.
      const reason = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      console.error(JSON.stringify({ message: 'event not handled', messageId: record.messageId, reason }));
      batchItemFailures.push({ itemIdentifier: record.messageId });
    }
  }
  return { batchItemFailures };
}
