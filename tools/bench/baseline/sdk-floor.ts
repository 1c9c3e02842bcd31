/**
 * The least any handler that calls AWS with SDK v3 loads: one client and nothing else. Bundled with the same
 * settings, it shows how much of a cold start no handler code can remove.
 */
import { SQSClient } from '@aws-sdk/client-sqs';

export const client = new SQSClient({});
