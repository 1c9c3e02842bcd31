import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { OpenSearchClient } from '@aws-sdk/client-opensearch';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { CliIo } from '../io.ts';
import { clientSettings, type Target } from '../targets.ts';

/** What every command runs with: where to write, and where to send its calls. */
export interface CommandContext {
  io: CliIo;
  target: Target;
}

// Each command builds the one client it needs and destroys it when done, so no socket keeps the process alive.
export const createSqsClient = (target: Target) => new SQSClient(clientSettings(target, 'sqs'));
export const createDynamoDbClient = (target: Target) =>
  new DynamoDBClient(clientSettings(target, 'dynamodb'));
export const createOpenSearchClient = (target: Target) =>
  new OpenSearchClient(clientSettings(target, 'opensearch'));
