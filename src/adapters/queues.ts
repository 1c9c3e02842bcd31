import { ChangeMessageVisibilityCommand, SendMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { DeadLetter } from '../domain/dlq.ts';

export interface Queues {
  /** Hides a record for `seconds` so its next attempt comes after the backoff, not after the default timeout. */
  defer(queueUrl: string, receiptHandle: string, seconds: number): Promise<void>;
  sendDeadLetter(queueUrl: string, message: DeadLetter): Promise<void>;
  send(queueUrl: string, body: string, delaySeconds: number): Promise<void>;
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
    async send(queueUrl, body, delaySeconds) {
      await client.send(
        new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: body, DelaySeconds: delaySeconds }),
      );
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
