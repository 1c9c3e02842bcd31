import {
  ChangeMessageVisibilityCommand,
  SendMessageBatchCommand,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { DeadLetter } from '../domain/dlq.ts';

export interface OutgoingMessage {
  body: string;
  delaySeconds: number;
}

/** Why SQS refused one message of a batch; `senderFault` false means trying again may work. */
export interface RefusedMessage {
  code: string;
  message: string;
  senderFault: boolean;
}

export interface Queues {
  /** Hides a record for `seconds` so its next attempt comes after the backoff, not after the default timeout. */
  defer(queueUrl: string, receiptHandle: string, seconds: number): Promise<void>;
  sendDeadLetter(queueUrl: string, message: DeadLetter): Promise<void>;
  /** Up to ten messages in one call; the result holds, at each message's index, why SQS refused it, if it did. */
  sendBatch(queueUrl: string, messages: OutgoingMessage[]): Promise<(RefusedMessage | undefined)[]>;
}

export function sqsQueues(client: SQSClient): Queues {
  return {
    async defer(queueUrl, receiptHandle, seconds) {
      await client.send(
        new ChangeMessageVisibilityCommand({
          QueueUrl: queueUrl,
          ReceiptHandle: receiptHandle,
          VisibilityTimeout: seconds,
        }),
      );
    },
    async sendDeadLetter(queueUrl, message) {
      await client.send(
        new SendMessageCommand({
          QueueUrl: queueUrl,
          MessageBody: message.body,
          MessageAttributes: message.attributes,
        }),
      );
    },
    async sendBatch(queueUrl, messages) {
      const response = await client.send(
        new SendMessageBatchCommand({
          QueueUrl: queueUrl,
          Entries: messages.map((message, index) => ({
            Id: String(index),
            MessageBody: message.body,
            DelaySeconds: message.delaySeconds,
          })),
        }),
      );
      const sent = new Set((response.Successful ?? []).map((entry) => entry.Id));
      const refused = new Map((response.Failed ?? []).map((entry) => [entry.Id, entry]));
      return messages.map((_, index) => {
        const id = String(index);
        if (sent.has(id)) return undefined;
        const failure = refused.get(id);
        return failure === undefined
          ? { code: 'MissingResult', message: 'SendMessageBatch reported nothing for it', senderFault: false }
          : {
              code: failure.Code ?? 'Unknown',
              message: failure.Message ?? '',
              senderFault: failure.SenderFault ?? false,
            };
      });
    },
  };
}

/**
 * The queue URL of a record's source queue, from its ARN (`arn:aws:sqs:region:account:name`). The SQS
 * client resolves the real host from its own endpoint; only the account and name in the path matter.
 */
export function queueUrlFromArn(arn: string): string {
  const [, partition, , region, account, name] = arn.split(':');
  const suffix = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${suffix}/${account}/${name}`;
}
