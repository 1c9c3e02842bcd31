import type { MessageAttributeValue } from '@aws-sdk/client-sqs';
import { PERMANENT_AWS_ERRORS } from './classify.ts';
import { REJECTION_CODES } from './events.ts';
import { sqsSafeText } from './sqs-text.ts';

/** The decisions that dead-letter a request besides a call AWS refused for good. */
export const RETRIES_EXHAUSTED = 'RetriesExhausted';
export const ASSOCIATION_FAILED = 'AssociationFailed';
export const DISSOCIATION_FAILED = 'DissociationFailed';
/** The target version can never be reached, or the package is not usable at all. */
export const PACKAGE_NOT_USABLE = 'PackageNotUsable';

/**
 * The `ReasonCode`s of dead letters: a rejection's code, a decision's, or the name of the AWS error that
 * refused the call for good. That name is any 4xx's, so the known ones below do not close the list.
 */
export const DEAD_LETTER_REASON_CODES: readonly string[] = [
  ...REJECTION_CODES,
  RETRIES_EXHAUSTED,
  ASSOCIATION_FAILED,
  DISSOCIATION_FAILED,
  PACKAGE_NOT_USABLE,
  ...PERMANENT_AWS_ERRORS,
];

/** How the SDK names AWS errors (`LimitExceededException`), the reason of a dead letter for another 4xx. */
const AWS_ERROR_NAME = /^[A-Z][A-Za-z0-9]*Exception$/;

export function isDeadLetterReasonCode(code: string): boolean {
  return DEAD_LETTER_REASON_CODES.includes(code) || AWS_ERROR_NAME.test(code);
}

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
