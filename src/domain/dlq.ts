import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { sqsSafeText } from './sqs-text.ts';

/** SQS allows 256 KiB per message, attributes included; a long AWS error text must not push us over it. */
const MAX_ERROR_MESSAGE_LENGTH = 1024;

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
        // An error message can quote a producer's field name or free text: a dead letter SQS refused for it
        // would leave its request undecided.
        StringValue: sqsSafeText(input.errorMessage.slice(0, MAX_ERROR_MESSAGE_LENGTH)) || input.reasonCode,
      },
      Attempt: { DataType: 'Number', StringValue: String(input.attempt) },
      SourceMessageId: { DataType: 'String', StringValue: input.sourceMessageId },
      FailedAt: { DataType: 'String', StringValue: input.failedAt.toISOString() },
    },
  };
}
