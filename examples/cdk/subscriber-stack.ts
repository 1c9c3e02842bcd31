// A subscriber's CDK stack: a rule on the associator's bus that fills a queue, and the consumer of
// examples/consumer reading it. aws-cdk-lib is not a dependency of this repository, so tsconfig.json leaves
// this folder out of the typecheck; in a CDK app (npm i aws-cdk-lib constructs) it compiles as it is.
import { Duration, Stack, type StackProps } from 'aws-cdk-lib';
import { AttributeType, BillingMode, Table } from 'aws-cdk-lib/aws-dynamodb';
import { EventBus, Rule } from 'aws-cdk-lib/aws-events';
import { SqsQueue } from 'aws-cdk-lib/aws-events-targets';
import { Runtime } from 'aws-cdk-lib/aws-lambda';
import { SqsEventSource } from 'aws-cdk-lib/aws-lambda-event-sources';
import { NodejsFunction } from 'aws-cdk-lib/aws-lambda-nodejs';
import { Queue, QueueEncryption } from 'aws-cdk-lib/aws-sqs';
import type { Construct } from 'constructs';

export interface SubscriberStackProps extends StackProps {
  /** The associator stack's output EventBusArn (same account: rules live in the bus's account). */
  associatorBusArn: string;
}

export class PackageEventsSubscriberStack extends Stack {
  constructor(scope: Construct, id: string, props: SubscriberStackProps) {
    super(scope, id, props);
    const bus = EventBus.fromEventBusArn(this, 'AssociatorBus', props.associatorBusArn);

    const deadLetters = new Queue(this, 'PackageEventsDlq', {
      encryption: QueueEncryption.SQS_MANAGED,
      retentionPeriod: Duration.days(14),
    });
    const queue = new Queue(this, 'PackageEventsQueue', {
      encryption: QueueEncryption.SQS_MANAGED,
      // Six times the function's timeout (AWS's advice for an SQS event source).
      visibilityTimeout: Duration.seconds(36),
      deadLetterQueue: { queue: deadLetters, maxReceiveCount: 5 },
    });

    // The target adds the queue policy that lets EventBridge send for this rule only.
    new Rule(this, 'PackageEventsRule', {
      eventBus: bus,
      eventPattern: {
        source: ['package-associator'],
        detailType: ['PackageAssociationSucceeded', 'PackageAssociationFailed'],
        detail: { domainName: ['catalog-search'] },
      },
      targets: [new SqsQueue(queue, { deadLetterQueue: deadLetters, maxEventAge: Duration.hours(24) })],
    });

    const seenEvents = new Table(this, 'SeenEvents', {
      partitionKey: { name: 'eventId', type: AttributeType.STRING },
      billingMode: BillingMode.PAY_PER_REQUEST,
      timeToLiveAttribute: 'expiresAt',
    });
    const consumer = new NodejsFunction(this, 'OnPackageEvent', {
      entry: 'examples/consumer/handler.ts',
      runtime: Runtime.NODEJS_24_X,
      timeout: Duration.seconds(6),
      environment: { SEEN_EVENTS_TABLE: seenEvents.tableName },
    });
    seenEvents.grant(consumer, 'dynamodb:PutItem', 'dynamodb:DeleteItem');
    consumer.addEventSource(new SqsEventSource(queue, { batchSize: 10, reportBatchItemFailures: true }));
  }
}
