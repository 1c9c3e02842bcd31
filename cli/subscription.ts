/**
 * A subscriber of its own for `associator events` where the stack has none to read (AWS): a temporary queue and
 * a rule on the bus that delivers the service's events to it, both removed when the command ends.
 */
import { randomBytes } from 'node:crypto';
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  CreateQueueCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  SetQueueAttributesCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import { describeError, OperationError } from './io.ts';
import { clientSettings, type Target } from './targets.ts';

/** Names start with this, so what a killed command left behind is easy to find (and to allow in IAM). */
export const SUBSCRIPTION_PREFIX = 'associator-events-';
const TARGET_ID = 'associator-events';

// Here rather than beside the other clients (commands/context.ts): only this path loads EventBridge's.
export const createEventBridgeClient = (target: Target) =>
  new EventBridgeClient(clientSettings(target, 'eventbridge'));

export interface SubscriptionSpec {
  /** The bus's name or ARN. */
  bus: string;
  /** The `Source` the rule matches: the service's events, whatever else shares the bus. */
  source: string;
}

/** What exists so far; removal takes away exactly this, so a setup that failed half-way leaves nothing. */
export interface Subscription extends SubscriptionSpec {
  name: string;
  queueUrl?: string;
  queueArn?: string;
  ruleArn?: string;
  targetAdded?: boolean;
}

/** Only this rule may send to the queue (the confused-deputy condition EventBridge documents). */
export function deliveryPolicy(queueArn: string, ruleArn: string): string {
  return JSON.stringify({
    Version: '2012-10-17',
    Statement: [
      {
        Sid: 'EventBridgeRuleDelivers',
        Effect: 'Allow',
        Principal: { Service: 'events.amazonaws.com' },
        Action: 'sqs:SendMessage',
        Resource: queueArn,
        Condition: { ArnEquals: { 'aws:SourceArn': ruleArn } },
      },
    ],
  });
}

async function build(sqs: SQSClient, events: EventBridgeClient, subscription: Subscription): Promise<string> {
  const { name, bus } = subscription;
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name }));
  if (QueueUrl === undefined) throw new OperationError(`CreateQueue returned no URL for ${name}`);
  subscription.queueUrl = QueueUrl;
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const queueArn = Attributes?.QueueArn;
  if (queueArn === undefined) throw new OperationError(`GetQueueAttributes returned no ARN for ${name}`);
  subscription.queueArn = queueArn;
  const { RuleArn } = await events.send(
    new PutRuleCommand({
      Name: name,
      EventBusName: bus,
      EventPattern: JSON.stringify({ source: [subscription.source] }),
      State: 'ENABLED',
      Description: `Temporary: associator events reads queue ${name}; removed when it exits`,
    }),
  );
  if (RuleArn === undefined) throw new OperationError(`PutRule returned no ARN for ${name}`);
  subscription.ruleArn = RuleArn;
  await sqs.send(
    new SetQueueAttributesCommand({ QueueUrl, Attributes: { Policy: deliveryPolicy(queueArn, RuleArn) } }),
  );
  const targets = await events.send(
    new PutTargetsCommand({ Rule: name, EventBusName: bus, Targets: [{ Id: TARGET_ID, Arn: queueArn }] }),
  );
  if ((targets.FailedEntryCount ?? 0) > 0) {
    const [failure] = targets.FailedEntries ?? [];
    throw new OperationError(
      `PutTargets refused queue ${name}: ${failure?.ErrorCode ?? 'Failed'}: ${failure?.ErrorMessage ?? ''}`,
    );
  }
  subscription.targetAdded = true;
  return QueueUrl;
}

/**
 * Creates the queue, the rule and its target. On failure it removes what it made and throws; removal's own
 * problems are added to the error's message.
 */
export async function subscribe(
  sqs: SQSClient,
  events: EventBridgeClient,
  spec: SubscriptionSpec,
): Promise<Subscription & { queueUrl: string }> {
  const subscription: Subscription = {
    ...spec,
    name: `${SUBSCRIPTION_PREFIX}${randomBytes(4).toString('hex')}`,
  };
  try {
    const queueUrl = await build(sqs, events, subscription);
    return Object.assign(subscription, { queueUrl });
  } catch (error) {
    const leftovers = await unsubscribe(sqs, events, subscription);
    const detail = leftovers.length > 0 ? `; ${leftovers.join('; ')}` : '';
    throw new OperationError(`cannot subscribe to bus ${spec.bus}: ${describeError(error)}${detail}`);
  }
}

/** Removes what `subscription` holds; returns what could not be removed, for the user to remove by hand. */
export async function unsubscribe(
  sqs: SQSClient,
  events: EventBridgeClient,
  subscription: Subscription,
): Promise<string[]> {
  const { name, bus } = subscription;
  const problems: string[] = [];
  const attempt = async (what: string, step: () => Promise<unknown>) => {
    try {
      await step();
    } catch (error) {
      problems.push(`could not remove ${what}: ${describeError(error)}`);
    }
  };
  if (subscription.targetAdded === true) {
    await attempt(`the target of rule ${name} on bus ${bus}`, () =>
      events.send(new RemoveTargetsCommand({ Rule: name, EventBusName: bus, Ids: [TARGET_ID] })),
    );
  }
  if (subscription.ruleArn !== undefined) {
    await attempt(`rule ${name} on bus ${bus}`, () =>
      events.send(new DeleteRuleCommand({ Name: name, EventBusName: bus })),
    );
  }
  const { queueUrl } = subscription;
  if (queueUrl !== undefined) {
    await attempt(`queue ${queueUrl}`, () => sqs.send(new DeleteQueueCommand({ QueueUrl: queueUrl })));
  }
  return problems;
}
