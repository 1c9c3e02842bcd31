import { SendMessageBatchCommand, SQSClient } from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, describe, expect, it } from 'vitest';
import { sendBatch } from '../../cli/queue-ops.ts';

const sqsMock = mockClient(SQSClient);
const queueUrl = 'https://sqs.eu-west-1.amazonaws.com/123456789012/requests';
const entries = [
  { id: 'a', body: '{"n":1}' },
  { id: 'b', body: '{"n":2}' },
  { id: 'c', body: '{"n":3}' },
];
const fast = { attempts: 3, baseDelayMs: 0 };

afterEach(() => {
  sqsMock.reset();
});

describe('sendBatch', () => {
  it('retries only the entries SQS failed without blaming the sender', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .resolvesOnce({
        Successful: [{ Id: 'a', MessageId: 'm-a', MD5OfMessageBody: 'x' }],
        Failed: [
          { Id: 'b', Code: 'InternalError', SenderFault: false, Message: 'try again' },
          { Id: 'c', Code: 'InvalidMessageContents', SenderFault: true, Message: 'bad characters' },
        ],
      })
      .resolvesOnce({ Successful: [{ Id: 'b', MessageId: 'm-b', MD5OfMessageBody: 'x' }], Failed: [] });

    const results = await sendBatch(new SQSClient({}), queueUrl, entries, fast);

    expect(Object.fromEntries(results)).toEqual({
      a: { ok: true, messageId: 'm-a' },
      b: { ok: true, messageId: 'm-b' },
      c: { ok: false, error: 'InvalidMessageContents: bad characters' },
    });
    const calls = sqsMock.commandCalls(SendMessageBatchCommand);
    expect(calls).toHaveLength(2);
    expect(calls[1]?.args[0].input.Entries).toEqual([{ Id: 'b', MessageBody: '{"n":2}' }]);
  });

  it('gives every entry an error when the call keeps failing, after the last attempt', async () => {
    sqsMock
      .on(SendMessageBatchCommand)
      .rejects(Object.assign(new Error('socket hang up'), { name: 'TimeoutError' }));

    const results = await sendBatch(new SQSClient({}), queueUrl, entries, fast);

    expect([...results.values()]).toEqual(
      entries.map(() => ({ ok: false, error: 'TimeoutError: socket hang up' })),
    );
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });

  it('retries an entry SQS neither sent nor reported, and gives up on it at the last attempt', async () => {
    sqsMock.on(SendMessageBatchCommand).resolves({ Successful: [], Failed: [] });

    const results = await sendBatch(new SQSClient({}), queueUrl, entries.slice(0, 1), fast);

    expect(results.get('a')).toEqual({ ok: false, error: 'not acknowledged by SQS' });
    expect(sqsMock.commandCalls(SendMessageBatchCommand)).toHaveLength(3);
  });
});
