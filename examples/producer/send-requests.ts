#!/usr/bin/env node
// A producer: asks for packages on domains, in SendMessageBatch calls of up to 10, each request with an
// idempotency key of its own, so a resend of the same request (after a timeout, a crash, a rerun of this
// script) is a duplicate the service answers once.
import { SendMessageBatchCommand, type SendMessageBatchRequestEntry, SQSClient } from '@aws-sdk/client-sqs';

/** One request, in the fields of schema/request.schema.json this example uses. */
export interface AssociationRequest {
  domainName: string;
  packageId: string;
  idempotencyKey: string;
  correlationId?: string;
  requestedBy?: string;
}

/** SQS takes at most 10 entries per SendMessageBatch call. */
const MAX_BATCH = 10;

export class RequestNotSentError extends Error {
  override name = 'RequestNotSentError';
  readonly idempotencyKey: string;
  readonly code: string;
  constructor(idempotencyKey: string, code: string, message: string) {
    super(`request ${idempotencyKey} was not sent: ${code}: ${message}`);
    this.idempotencyKey = idempotencyKey;
    this.code = code;
  }
}

export interface SendOptions {
  /** How often an entry SQS failed on its side (SenderFault false) is sent again. */
  attempts?: number;
  /** Wait before the n-th resend: n × this. */
  backoffMs?: number;
}

/**
 * Sends every request; resolves once each is on the queue. A batch answer can fail some entries and accept
 * the rest: only the failed ones are sent again, and only when the fault is SQS's, not the entry's.
 */
export async function sendRequests(
  sqs: SQSClient,
  queueUrl: string,
  requests: readonly AssociationRequest[],
  { attempts = 3, backoffMs = 200 }: SendOptions = {},
): Promise<void> {
  for (let start = 0; start < requests.length; start += MAX_BATCH) {
    let pending = requests.slice(start, start + MAX_BATCH);
    for (let attempt = 1; pending.length > 0; attempt++) {
      const entries: SendMessageBatchRequestEntry[] = pending.map((request, index) => ({
        Id: String(index),
        MessageBody: JSON.stringify(request),
      }));
      const { Failed = [] } = await sqs.send(
        new SendMessageBatchCommand({ QueueUrl: queueUrl, Entries: entries }),
      );
      const retry: AssociationRequest[] = [];
      for (const failure of Failed) {
        const request = pending[Number(failure.Id)];
        if (request === undefined) continue;
        const error = new RequestNotSentError(
          request.idempotencyKey,
          failure.Code ?? 'Unknown',
          failure.Message ?? '',
        );
        // A sender fault (a body too big, a bad attribute) fails again however often it is sent.
        if (failure.SenderFault === true || attempt >= attempts) throw error;
        retry.push(request);
      }
      pending = retry;
      if (pending.length > 0) await new Promise((resolve) => setTimeout(resolve, attempt * backoffMs));
    }
  }
}

/**
 * A key that names what is asked, not when: sending the same release again is a duplicate. Keys take
 * `A-Z a-z 0-9 . _ : / -`, up to 128 characters.
 */
export function idempotencyKeyFor(release: string, domainName: string, packageId: string): string {
  return `${release}:${domainName}:${packageId}`;
}

if (import.meta.main) {
  const queueUrl = process.env.ASSOCIATOR_QUEUE_URL;
  if (queueUrl === undefined) throw new Error('ASSOCIATOR_QUEUE_URL: the requests queue URL is required');
  const release = process.argv[2] ?? 'demo-release-1';
  // The SDK reads AWS_ENDPOINT_URL, AWS_REGION and the credentials from the environment.
  const sqs = new SQSClient({});
  const packages = [
    { domainName: 'catalog-search', packageId: 'F111111111' },
    { domainName: 'orders-logs', packageId: 'G555555555' },
  ];
  await sendRequests(
    sqs,
    queueUrl,
    packages.map(({ domainName, packageId }) => ({
      domainName,
      packageId,
      idempotencyKey: idempotencyKeyFor(release, domainName, packageId),
      correlationId: release,
      requestedBy: 'examples/producer',
    })),
  );
  console.log(`sent ${packages.length} requests of ${release}`);
  sqs.destroy();
}
