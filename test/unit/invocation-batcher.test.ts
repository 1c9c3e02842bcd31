import { describe, expect, it } from 'vitest';
import { InvocationBatcher } from '../../src/adapters/invocation-batcher.ts';
import { BatchedQueueSender, QueueSendError } from '../../src/adapters/queue-sender.ts';
import type { OutgoingMessage, Queues, RefusedMessage } from '../../src/adapters/queues.ts';

interface BatchCall {
  queueUrl: string;
  bodies: string[];
}

/** Queues whose sendBatch records each call and refuses what `refuse` says, answering on the next tick. */
function recordingQueues(
  refuse: (message: OutgoingMessage, call: number) => RefusedMessage | undefined = () => undefined,
) {
  const calls: BatchCall[] = [];
  const queues: Queues = {
    defer: async () => undefined,
    sendDeadLetter: async () => undefined,
    async sendBatch(queueUrl, messages) {
      calls.push({ queueUrl, bodies: messages.map((message) => message.body) });
      const call = calls.length;
      await new Promise((resolve) => setImmediate(resolve));
      return messages.map((message) => refuse(message, call));
    },
  };
  return { queues, calls };
}

const settle = (promises: Promise<unknown>[]) => Promise.allSettled(promises);

/**
 * One record's work as the handler runs it: every record of the batch starts before any reaches its first
 * send, because each first awaits the idempotency store.
 */
function record<T>(batcher: InvocationBatcher, work: () => Promise<T>): Promise<T> {
  return batcher.track(async () => {
    await new Promise((resolve) => setImmediate(resolve));
    return work();
  });
}

describe('InvocationBatcher with BatchedQueueSender', () => {
  it('sends what ten running records hand over in one call of ten', async () => {
    const { queues, calls } = recordingQueues();
    const batcher = new InvocationBatcher();
    const sender = new BatchedQueueSender(queues, 'tracking', batcher);

    await Promise.all(
      Array.from({ length: 10 }, (_, index) => record(batcher, () => sender.send(`m${index}`, 15))),
    );

    expect(calls).toEqual([{ queueUrl: 'tracking', bodies: Array.from({ length: 10 }, (_, i) => `m${i}`) }]);
  });

  it('sends the earlier stage first, so records released from it join the later stage', async () => {
    const { queues, calls } = recordingQueues();
    const batcher = new InvocationBatcher();
    const tracking = new BatchedQueueSender(queues, 'tracking', batcher);
    const events = new BatchedQueueSender(queues, 'events', batcher);

    await Promise.all([
      // This record goes straight to the second stage and waits there for the other one.
      record(batcher, () => events.send('event-a', 0)),
      record(batcher, async () => {
        await tracking.send('tracking-b', 15);
        await events.send('event-b', 0);
      }),
    ]);

    expect(calls).toEqual([
      { queueUrl: 'tracking', bodies: ['tracking-b'] },
      { queueUrl: 'events', bodies: ['event-a', 'event-b'] },
    ]);
  });

  it('does not wait for a record that finished without sending anything', async () => {
    const { queues, calls } = recordingQueues();
    const batcher = new InvocationBatcher();
    const sender = new BatchedQueueSender(queues, 'tracking', batcher);

    await Promise.all([
      record(batcher, () => sender.send('only', 0)),
      record(batcher, async () => undefined),
    ]);

    expect(calls).toEqual([{ queueUrl: 'tracking', bodies: ['only'] }]);
  });

  it('sends at once what is handed over outside a tracked record', async () => {
    const { queues, calls } = recordingQueues();
    const sender = new BatchedQueueSender(queues, 'tracking', new InvocationBatcher());

    await sender.send('alone', 0);

    expect(calls).toHaveLength(1);
  });

  it('fails only the refused message, and sends again one refused on SQS side', async () => {
    const { queues, calls } = recordingQueues((message, call) => {
      if (message.body === 'bad') return { code: 'InvalidMessageContents', message: 'no', senderFault: true };
      if (message.body === 'busy' && call === 1) {
        return { code: 'InternalError', message: 'try again', senderFault: false };
      }
      return undefined;
    });
    const batcher = new InvocationBatcher();
    const sender = new BatchedQueueSender(queues, 'tracking', batcher, { retryDelayMs: 1 });

    const results = await settle(
      ['good', 'bad', 'busy'].map((body) => record(batcher, () => sender.send(body, 0))),
    );

    expect(results.map((result) => result.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    const refused = results[1];
    expect(refused?.status === 'rejected' && refused.reason).toBeInstanceOf(QueueSendError);
    expect(refused?.status === 'rejected' && (refused.reason as QueueSendError).code).toBe(
      'InvalidMessageContents',
    );
    expect(calls.map((call) => call.bodies)).toEqual([['good', 'bad', 'busy'], ['busy']]);
  });

  it('does not count as sent a message the call reported nothing about', async () => {
    const batcher = new InvocationBatcher();
    let calls = 0;
    const queues: Queues = {
      ...recordingQueues().queues,
      sendBatch: async () => {
        calls += 1;
        return [];
      },
    };
    const sender = new BatchedQueueSender(queues, 'tracking', batcher, { retryDelayMs: 1 });

    const results = await settle(['a', 'b'].map((body) => record(batcher, () => sender.send(body, 0))));

    expect(results.map((result) => result.status)).toEqual(['rejected', 'rejected']);
    // The first call and two retries.
    expect(calls).toBe(3);
  });

  it('fails every message of a call that failed as a whole', async () => {
    const batcher = new InvocationBatcher();
    const queues: Queues = {
      ...recordingQueues().queues,
      sendBatch: async () => {
        throw Object.assign(new Error('access denied'), { name: 'AccessDenied' });
      },
    };
    const sender = new BatchedQueueSender(queues, 'tracking', batcher);

    const results = await settle(['a', 'b'].map((body) => record(batcher, () => sender.send(body, 0))));

    expect(results.map((result) => result.status === 'rejected' && (result.reason as Error).name)).toEqual([
      'AccessDenied',
      'AccessDenied',
    ]);
  });
});
