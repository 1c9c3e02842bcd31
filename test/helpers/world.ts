import { type EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  AssociatePackageCommand,
  AssociatePackagesCommand,
  ListDomainNamesCommand,
  ListPackagesForDomainCommand,
  type OpenSearchClient,
} from '@aws-sdk/client-opensearch';
import {
  SendMessageBatchCommand,
  type SendMessageBatchRequestEntry,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Context, SQSBatchResponse, SQSEvent, SQSRecord } from 'aws-lambda';
import type { AwsClientStub } from 'aws-sdk-client-mock';
import { vi } from 'vitest';
import { lambdaContext, sqsRecord } from './factories.ts';
import { awsError } from './handler-harness.ts';

type BatchHandler = (event: SQSEvent, context: Context) => Promise<SQSBatchResponse>;

const TRACKING_QUEUE_ARN = 'arn:aws:sqs:eu-west-1:123456789012:package-associator-tracking';

/** What a fake domain holds for a package, and how many looks until an ASSOCIATING one ends. */
interface FakeAssociation {
  status: 'ASSOCIATING' | 'ACTIVE' | 'ASSOCIATION_FAILED';
  looksLeft: number;
  fails: boolean;
}

/**
 * OpenSearch as a small stateful fake, for tests that must see what a call really did: AssociatePackage takes
 * effect (or, told to, takes effect and loses its answer), answers ConflictException when the package is there
 * already, and an association turns ACTIVE after `looksUntilActive` listings.
 */
export class FakeDomains {
  readonly associations = new Map<string, FakeAssociation>();
  /** Calls that took effect: a second one for the same pair breaks "at most one AWS operation". */
  operations = 0;
  lostAnswers = 0;
  throttles = 0;
  failPackages = new Set<string>();
  looksUntilActive = 2;

  /** A package that was associated before the test: ACTIVE already. */
  active(domainName: string, packageId: string): void {
    this.associations.set(`${domainName}/${packageId}`, { status: 'ACTIVE', looksLeft: 0, fails: false });
  }

  /** One operation for the packages (AssociatePackage for one, AssociatePackages for several). */
  #associate(domainName: string, packageIds: string[]) {
    for (const packageId of packageIds) {
      if (this.associations.has(`${domainName}/${packageId}`)) {
        throw awsError('ConflictException', `${packageId} is already in desired state or in progress`, 409);
      }
      if (packageId.startsWith('F404')) throw awsError('ResourceNotFoundException', 'Package not found', 409);
    }
    if (this.throttles > 0) {
      this.throttles -= 1;
      throw awsError('ThrottlingException', 'Rate exceeded', 400);
    }
    for (const packageId of packageIds) {
      this.operations += 1;
      const fails = this.failPackages.has(packageId);
      this.associations.set(`${domainName}/${packageId}`, {
        status: 'ASSOCIATING',
        looksLeft: this.looksUntilActive,
        fails,
      });
    }
    if (this.lostAnswers > 0) {
      this.lostAnswers -= 1;
      throw Object.assign(new Error('socket hang up'), { name: 'Error', code: 'ECONNRESET' });
    }
    return packageIds.map((packageId) => ({
      DomainName: domainName,
      PackageID: packageId,
      DomainPackageStatus: 'ASSOCIATING',
    }));
  }

  install(openSearch: AwsClientStub<OpenSearchClient>): void {
    openSearch.on(ListDomainNamesCommand).resolves({
      DomainNames: ['orders-a', 'orders-b', 'orders-c'].map((DomainName) => ({ DomainName })),
    });
    openSearch.on(AssociatePackageCommand).callsFake((input: { DomainName: string; PackageID: string }) => {
      const [details] = this.#associate(input.DomainName, [input.PackageID]);
      return { DomainPackageDetails: details };
    });
    openSearch
      .on(AssociatePackagesCommand)
      .callsFake((input: { DomainName: string; PackageList: { PackageID: string }[] }) => ({
        DomainPackageDetailsList: this.#associate(
          input.DomainName,
          input.PackageList.map((entry) => entry.PackageID),
        ),
      }));
    openSearch.on(ListPackagesForDomainCommand).callsFake((input: { DomainName: string }) => {
      const list = [...this.associations].flatMap(([key, association]) => {
        const [domainName, packageId] = key.split('/');
        if (domainName !== input.DomainName) return [];
        if (association.status === 'ASSOCIATING' && association.looksLeft-- <= 0) {
          association.status = association.fails ? 'ASSOCIATION_FAILED' : 'ACTIVE';
        }
        return [{ DomainName: domainName, PackageID: packageId, DomainPackageStatus: association.status }];
      });
      return { DomainPackageDetailsList: list };
    });
  }
}

interface Queued {
  record: SQSRecord;
  receiveCount: number;
}

/**
 * The two queues and their Lambdas, one message at a time: a message the handler fails or crashes on comes
 * back (its receive count up one) after the clock has passed any lease it held.
 */
export class World {
  readonly requests: Queued[] = [];
  readonly tracking: Queued[] = [];
  #trackingSeen = 0;
  #requestsSeen = 0;
  /**
   * Takes the queues in turn rather than the requests first, so that a holder's status checks run while
   * another request waits for its domain.
   */
  alternate = false;
  #lastFromRequests = false;
  /**
   * How far the clock moves after each delivery: by default past any lease (invocation time + margin) and any
   * backoff or check delay. Shorter, a waiter's backoff is still running when the domain's holder is decided.
   */
  stepMs = 120_000;
  /** How many request messages one associate invocation takes at most (the tracker takes one at a time). */
  batchSize = 1;
  readonly #sqs: AwsClientStub<SQSClient>;
  readonly #handlers: { associate: BatchHandler; track: BatchHandler };
  readonly #trackingQueueUrl: string;
  readonly #requestsQueueUrl: string;

  constructor(
    sqs: AwsClientStub<SQSClient>,
    handlers: { associate: BatchHandler; track: BatchHandler },
    queueUrls: { tracking: string; requests: string },
  ) {
    this.#sqs = sqs;
    this.#handlers = handlers;
    this.#trackingQueueUrl = queueUrls.tracking;
    this.#requestsQueueUrl = queueUrls.requests;
  }

  send(body: unknown, options: { messageId?: string } = {}): SQSRecord {
    const record = sqsRecord(body, options);
    this.requests.push({ record, receiveCount: 1 });
    return record;
  }

  /** Delivers until both queues are empty; `crashed()` says when an invocation died and is abandoned. */
  async drain(crashed: { next(): Promise<void> | undefined }, maxDeliveries = 60): Promise<number> {
    let deliveries = 0;
    while (this.requests.length + this.tracking.length > 0) {
      deliveries += 1;
      if (deliveries > maxDeliveries)
        throw new Error(`still ${this.requests.length + this.tracking.length} queued`);
      const fromRequests =
        this.requests.length > 0 &&
        (!this.alternate || !this.#lastFromRequests || this.tracking.length === 0);
      this.#lastFromRequests = fromRequests;
      const queue = fromRequests ? this.requests : this.tracking;
      const taken = queue.splice(0, fromRequests ? this.batchSize : 1);
      const records = taken.map((queued) => ({
        ...queued.record,
        receiptHandle: `${queued.record.messageId}-${queued.receiveCount}`,
        attributes: { ...queued.record.attributes, ApproximateReceiveCount: String(queued.receiveCount) },
      }));
      const handler = fromRequests ? this.#handlers.associate : this.#handlers.track;
      const invocation = handler({ Records: records }, lambdaContext());
      const crash = crashed.next();
      const outcome = await (crash === undefined
        ? invocation.then((response) => ({ response }))
        : Promise.race([
            invocation.then((response) => ({ response })),
            crash.then(() => ({ response: undefined })),
          ]));
      this.collectTracking();
      const failedIds = new Set(outcome.response?.batchItemFailures.map((failure) => failure.itemIdentifier));
      for (const queued of taken) {
        if (outcome.response === undefined || failedIds.has(queued.record.messageId)) {
          queue.push({ record: queued.record, receiveCount: queued.receiveCount + 1 });
        }
      }
      vi.setSystemTime(new Date(Date.now() + this.stepMs));
    }
    return deliveries;
  }

  /**
   * Tracking messages the handlers sent become messages of the tracking queue, and requests they sent (a
   * rollout's children) messages of the requests queue.
   */
  collectTracking(): void {
    const sentTo = (queueUrl: string) =>
      this.#sqs
        .commandCalls(SendMessageBatchCommand)
        .filter((call) => call.args[0].input.QueueUrl === queueUrl)
        .flatMap((call) => call.args[0].input.Entries ?? []) as SendMessageBatchRequestEntry[];
    const tracking = sentTo(this.#trackingQueueUrl);
    for (const entry of tracking.slice(this.#trackingSeen)) {
      const record = { ...sqsRecord(entry.MessageBody ?? ''), eventSourceARN: TRACKING_QUEUE_ARN };
      this.tracking.push({ record, receiveCount: 1 });
    }
    this.#trackingSeen = tracking.length;
    const requests = sentTo(this.#requestsQueueUrl);
    for (const entry of requests.slice(this.#requestsSeen)) {
      this.requests.push({ record: sqsRecord(entry.MessageBody ?? ''), receiveCount: 1 });
    }
    this.#requestsSeen = requests.length;
  }
}

/** Every event published, parsed, with the calls that carried them. */
export function eventsPublished(eventBridge: AwsClientStub<EventBridgeClient>) {
  return eventBridge.commandCalls(PutEventsCommand).flatMap((call) =>
    (call.args[0].input.Entries ?? []).map((entry) => ({
      detailType: entry.DetailType ?? '',
      text: entry.Detail ?? '',
      detail: JSON.parse(entry.Detail ?? '{}') as Record<string, unknown>,
    })),
  );
}

/** Every dead letter sent to `dlqUrl`, with its DeadLetterId. */
export function deadLettersSent(sqs: AwsClientStub<SQSClient>, dlqUrl: string) {
  return sqs
    .commandCalls(SendMessageCommand)
    .map((call) => call.args[0].input)
    .filter((input) => input.QueueUrl === dlqUrl)
    .map((input) => ({
      body: input.MessageBody,
      id: input.MessageAttributes?.DeadLetterId?.StringValue,
      reason: input.MessageAttributes?.ReasonCode?.StringValue,
    }));
}
