import type { MessageAttributeValue } from '@aws-sdk/client-sqs';

/** SQS allows 256 KiB per message, attributes included; a long AWS error text must not push us over it. */
const MAX_ERROR_MESSAGE_LENGTH = 1024;
/**
 * What SQS refuses in a String attribute, as in a body (control characters, lone surrogates): an error message
 * can quote a producer's unknown field name, and a refused dead letter would leave the request without a
 * Failed event (https://docs.aws.amazon.com/AWSSimpleQueueService/latest/APIReference/API_SendMessage.html).
 */
const NOT_SQS_TEXT = /[^\t\n\r\x20-\uD7FF\uE000-\uFFFD\u{10000}-\u{10FFFF}]/gu;

export interface DeadLetter {
  /** The original body, byte for byte, so a redrive replays exactly what the producer sent. */
  body: string;
  attributes: Record<string, MessageAttributeValue>;
}

export interface DeadLetterInput {
  body: string;
  reasonCode: string;
  errorMessage: string;
  attempt: number;
  sourceMessageId: string;
  failedAt: Date;
}

export function deadLetter(input: DeadLetterInput): DeadLetter {
  return {
    body: input.body,
    attributes: {
      ReasonCode: { DataType: 'String', StringValue: input.reasonCode },
      ErrorMessage: {
        DataType: 'String',
        StringValue:
          input.errorMessage.slice(0, MAX_ERROR_MESSAGE_LENGTH).replace(NOT_SQS_TEXT, '\uFFFD') ||
          input.reasonCode,
      },
      Attempt: { DataType: 'Number', StringValue: String(input.attempt) },
      SourceMessageId: { DataType: 'String', StringValue: input.sourceMessageId },
      FailedAt: { DataType: 'String', StringValue: input.failedAt.toISOString() },
    },
  };
}
