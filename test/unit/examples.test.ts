import {
  ConditionalCheckFailedException,
  DeleteItemCommand,
  DynamoDBClient,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb';
import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  type AssociationEvent,
  actOnce,
  DynamoDbSeenEvents,
  InMemorySeenEvents,
} from '../../examples/consumer/dedupe.ts';
import { handler } from '../../examples/consumer/handler.ts';
import {
  type AssociationRequest,
  idempotencyKeyFor,
  RequestNotSentError,
  sendRequests,
} from '../../examples/producer/send-requests.ts';
import { sqsEvent, sqsRecord } from '../helpers/factories.ts';

const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/requests';

function event(eventId: string, id = `eb-${eventId}`): AssociationEvent {
  return {
    id,
    'detail-type': 'PackageAssociationSucceeded',
    source: 'package-associator',
    detail: { eventId, domainName: 'catalog-search', packageId: 'F111111111' },
  };
}

describe('examples/consumer: acting once per detail.eventId', () => {
  it('acts on the first copy only, whatever EventBridge id a republished copy has', async () => {
    const seen = new InMemorySeenEvents();
    const act = vi.fn(async () => {});
    expect(await actOnce(event('e1', 'eb-1'), seen, act)).toBe('acted');
    expect(await actOnce(event('e1', 'eb-2'), seen, act)).toBe('duplicate');
    expect(await actOnce(event('e2'), seen, act)).toBe('acted');
    expect(act).toHaveBeenCalledTimes(2);
  });

  it('releases the claim of a failed action, so the redelivered copy is acted on', async () => {
    const seen = new InMemorySeenEvents();
    const failing = vi.fn(async () => {
      throw new Error('reload failed');
    });
    await expect(actOnce(event('e1'), seen, failing)).rejects.toThrow('reload failed');
    const act = vi.fn(async () => {});
    expect(await actOnce(event('e1'), seen, act)).toBe('acted');
  });

  it('claims in DynamoDB with a conditional put, and reads a failed condition as a duplicate', async () => {
    const dynamo = mockClient(DynamoDBClient);
    dynamo
      .on(PutItemCommand)
      .resolvesOnce({})
      .rejectsOnce(new ConditionalCheckFailedException({ message: 'exists', $metadata: {} }));
    dynamo.on(DeleteItemCommand).resolves({});
    const seen = new DynamoDbSeenEvents(new DynamoDBClient({ region: 'eu-west-1' }), 'seen', 60);
    expect(await seen.claim('e1')).toBe(true);
    expect(await seen.claim('e1')).toBe(false);
    await seen.release('e1');
    const put = dynamo.commandCalls(PutItemCommand)[0]?.args[0].input;
    expect(put).toMatchObject({
      TableName: 'seen',
      Item: { eventId: { S: 'e1' } },
      ConditionExpression: 'attribute_not_exists(eventId)',
    });
    expect(dynamo.commandCalls(DeleteItemCommand)[0]?.args[0].input.Key).toEqual({ eventId: { S: 'e1' } });
    dynamo.restore();
  });

  it('the handler fails only the record it could not read, and acts once on a copy in the same batch', async () => {
    const log = vi.spyOn(console, 'log').mockImplementation(() => {});
    const error = vi.spyOn(console, 'error').mockImplementation(() => {});
    const bad = sqsRecord('not json');
    const result = await handler(sqsEvent([sqsRecord(event('h1')), sqsRecord(event('h1', 'eb-again')), bad]));
    expect(result).toEqual({ batchItemFailures: [{ itemIdentifier: bad.messageId }] });
    expect(log).toHaveBeenCalledTimes(1);
    expect(error).toHaveBeenCalledTimes(1);
    log.mockRestore();
    error.mockRestore();
  });
});

describe('examples/producer: batches with idempotency keys', () => {
  const sqs = mockClient(SQSClient);
  afterEach(() => sqs.reset());
  const requests: AssociationRequest[] = Array.from({ length: 12 }, (_, index) => {
    const packageId = `F${100_000_000 + index}`;
    return {
      domainName: 'catalog-search',
      packageId,
      idempotencyKey: idempotencyKeyFor('release-1', 'catalog-search', packageId),
    };
  });
  const client = () => new SQSClient({ region: 'eu-west-1' });

  it('sends in batches of 10 and sends again only the entries SQS failed on its side', async () => {
    sqs
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [],
        Failed: [{ Id: '3', Code: 'InternalError', SenderFault: false, Message: 'try again' }],
      })
      .resolves({ Successful: [], Failed: [] });
    await sendRequests(client(), QUEUE_URL, requests, { backoffMs: 1 });
    const batches = sqs.commandCalls(SendMessageBatchCommand).map((call) => call.args[0].input.Entries ?? []);
    expect(batches.map((entries) => entries.length)).toEqual([10, 1, 2]);
    expect(JSON.parse(batches[1]?.[0]?.MessageBody ?? '{}')).toEqual(requests[3]);
  });

  it('stops on an entry that is wrong, naming its key', async () => {
    sqs.on(SendMessageBatchCommand).resolves({
      Successful: [],
      Failed: [{ Id: '0', Code: 'InvalidParameterValue', SenderFault: true, Message: 'too long' }],
    });
    const sent = sendRequests(client(), QUEUE_URL, requests.slice(0, 1));
    await expect(sent).rejects.toThrow(RequestNotSentError);
    await expect(sent).rejects.toThrow(
      'request release-1:catalog-search:F100000000 was not sent: InvalidParameterValue: too long',
    );
    expect(sqs.commandCalls(SendMessageBatchCommand)).toHaveLength(1);
  });
});
