import { PassThrough } from 'node:stream';
import {
  DeleteRuleCommand,
  EventBridgeClient,
  PutRuleCommand,
  PutTargetsCommand,
  RemoveTargetsCommand,
} from '@aws-sdk/client-eventbridge';
import {
  ChangeMessageVisibilityBatchCommand,
  CreateQueueCommand,
  DeleteMessageBatchCommand,
  DeleteQueueCommand,
  GetQueueAttributesCommand,
  type Message,
  ReceiveMessageCommand,
  SetQueueAttributesCommand,
  SQSClient,
} from '@aws-sdk/client-sqs';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runEvents } from '../../cli/commands/events.ts';
import type { CliIo } from '../../cli/io.ts';
import { stageResources } from '../../cli/stage.ts';
import { deliveryPolicy, SUBSCRIPTION_PREFIX, subscribe } from '../../cli/subscription.ts';
import { resolveTarget } from '../../cli/targets.ts';

const sqsMock = mockClient(SQSClient);
const eventsMock = mockClient(EventBridgeClient);
const account = '123456789012';
const queueUrl = `https://sqs.eu-west-1.amazonaws.com/${account}/${SUBSCRIPTION_PREFIX}0a1b2c3d`;
const queueArn = `arn:aws:sqs:eu-west-1:${account}:${SUBSCRIPTION_PREFIX}0a1b2c3d`;
const ruleArn = `arn:aws:events:eu-west-1:${account}:rule/opensearch-package-associator-prod/x`;

function fakeIo() {
  const out: string[] = [];
  const err: string[] = [];
  let handler: (() => void) | undefined;
  const io: CliIo = {
    out: (line) => out.push(line),
    err: (line) => err.push(line),
    progressStream: new PassThrough(),
    env: {},
    onInterrupt(next) {
      handler = next;
      return () => {
        handler = undefined;
      };
    },
  };
  return { io, out, err, interrupt: () => handler?.(), listening: () => handler !== undefined };
}

function event(id: string, detailType: string, occurredAt: string): Message {
  const detail = {
    idempotencyKey: 'k-1',
    domainName: 'orders-logs',
    packageId: 'F1',
    occurredAt,
    attempt: 1,
  };
  return {
    MessageId: id,
    ReceiptHandle: `rh-${id}`,
    Body: JSON.stringify({ 'detail-type': detailType, time: occurredAt.slice(0, 19), detail }),
  };
}

beforeEach(() => {
  sqsMock.on(CreateQueueCommand).resolves({ QueueUrl: queueUrl });
  sqsMock.on(GetQueueAttributesCommand).resolves({ Attributes: { QueueArn: queueArn } });
  sqsMock.on(SetQueueAttributesCommand).resolves({});
  sqsMock.on(DeleteMessageBatchCommand).resolves({ Successful: [], Failed: [] });
  sqsMock.on(ChangeMessageVisibilityBatchCommand).resolves({ Successful: [], Failed: [] });
  sqsMock.on(DeleteQueueCommand).resolves({});
  eventsMock.on(PutRuleCommand).resolves({ RuleArn: ruleArn });
  eventsMock.on(PutTargetsCommand).resolves({ FailedEntryCount: 0, FailedEntries: [] });
  eventsMock.on(RemoveTargetsCommand).resolves({ FailedEntryCount: 0 });
  eventsMock.on(DeleteRuleCommand).resolves({});
});

afterEach(() => {
  sqsMock.reset();
  eventsMock.reset();
});

describe('associator events on AWS', () => {
  it('follows the bus through a temporary queue and rule, in time order, and removes both on Ctrl-C', async () => {
    const { io, out, err, interrupt, listening } = fakeIo();
    const started = event('m-1', 'PackageAssociationStarted', '2026-03-01T10:00:00.000Z');
    const succeeded = event('m-2', 'PackageAssociationSucceeded', '2026-03-01T10:00:05.000Z');
    const lateArrival = event('m-3', 'PackageAssociationStarted', '2026-03-01T10:00:06.000Z');
    sqsMock
      .on(ReceiveMessageCommand)
      .resolvesOnce({ Messages: [succeeded, started] })
      // Ctrl-C while this receive waits: what it then takes is given back, not printed.
      .callsFakeOnce(() => {
        interrupt();
        return { Messages: [lateArrival] };
      });
    const target = resolveTarget({ region: 'eu-west-1' }, {}, stageResources('prod'));

    const code = await runEvents({ wait: 1 }, { io, target });

    expect(code).toBe(0);
    expect(out).toHaveLength(2);
    expect(out[0]).toContain('PackageAssociationStarted');
    expect(out[1]).toContain('PackageAssociationSucceeded');
    const rule = eventsMock.commandCalls(PutRuleCommand)[0]?.args[0].input;
    expect(rule).toMatchObject({ EventBusName: 'opensearch-package-associator-prod', State: 'ENABLED' });
    expect(JSON.parse(rule?.EventPattern ?? '')).toEqual({ source: ['package-associator'] });
    expect(rule?.Name).toMatch(new RegExp(`^${SUBSCRIPTION_PREFIX}[0-9a-f]{8}$`));
    expect(sqsMock.commandCalls(SetQueueAttributesCommand)[0]?.args[0].input.Attributes?.Policy).toBe(
      deliveryPolicy(queueArn, ruleArn),
    );
    expect(eventsMock.commandCalls(PutTargetsCommand)[0]?.args[0].input.Targets).toEqual([
      { Id: 'associator-events', Arn: queueArn },
    ]);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)[0]?.args[0].input).toMatchObject({
      QueueUrl: queueUrl,
      WaitTimeSeconds: 5,
    });
    expect(sqsMock.commandCalls(DeleteMessageBatchCommand)[0]?.args[0].input.Entries).toEqual([
      { Id: '0', ReceiptHandle: 'rh-m-1' },
      { Id: '1', ReceiptHandle: 'rh-m-2' },
    ]);
    expect(sqsMock.commandCalls(ChangeMessageVisibilityBatchCommand)[0]?.args[0].input.Entries).toEqual([
      { Id: '0', ReceiptHandle: 'rh-m-3', VisibilityTimeout: 0 },
    ]);
    expect(sqsMock.commandCalls(ReceiveMessageCommand)).toHaveLength(2);
    expect(eventsMock.commandCalls(RemoveTargetsCommand)[0]?.args[0].input).toMatchObject({
      Rule: rule?.Name,
      EventBusName: 'opensearch-package-associator-prod',
      Ids: ['associator-events'],
    });
    expect(eventsMock.commandCalls(DeleteRuleCommand)[0]?.args[0].input.Name).toBe(rule?.Name);
    expect(sqsMock.commandCalls(DeleteQueueCommand)[0]?.args[0].input.QueueUrl).toBe(queueUrl);
    expect(err.join('\n')).toContain('through the temporary queue and rule');
    expect(err.join('\n')).toContain('stopping: giving back what the receive in flight takes');
    expect(err.at(-1)).toBe(`removed the temporary queue and rule ${rule?.Name}`);
    expect(listening()).toBe(false);
  });

  it('exits 1 naming what it could not remove, after the events it printed', async () => {
    const { io, out, err, interrupt } = fakeIo();
    sqsMock.on(ReceiveMessageCommand).callsFake(() => {
      interrupt();
      return {};
    });
    eventsMock
      .on(DeleteRuleCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    const target = resolveTarget({}, {}, stageResources('prod'));

    const code = await runEvents({ wait: 1, follow: true }, { io, target });

    expect(code).toBe(1);
    expect(out).toEqual([]);
    expect(err).toContainEqual(
      expect.stringMatching(
        /^could not remove rule associator-events-[0-9a-f]{8} on bus opensearch-package-associator-prod: AccessDeniedException: denied; remove it by hand$/,
      ),
    );
    expect(sqsMock.commandCalls(DeleteQueueCommand)).toHaveLength(1);
  });

  it('refuses to guess a bus: without --stage or --event-bus there is nothing to follow', async () => {
    const { io } = fakeIo();

    await expect(runEvents({ wait: 1 }, { io, target: resolveTarget({}, {}) })).rejects.toMatchObject({
      name: 'UsageError',
      message: expect.stringContaining('pass --stage or --event-bus'),
    });
    expect(sqsMock.calls()).toHaveLength(0);
  });
});

describe('subscribe', () => {
  it('removes what it made when EventBridge refuses the target, and says why', async () => {
    eventsMock.on(PutTargetsCommand).resolves({
      FailedEntryCount: 1,
      FailedEntries: [{ TargetId: 'associator-events', ErrorCode: 'AccessDenied', ErrorMessage: 'no' }],
    });

    await expect(
      subscribe(new SQSClient({}), new EventBridgeClient({}), { bus: 'b', source: 'package-associator' }),
    ).rejects.toThrow(/cannot subscribe to bus b: .*PutTargets refused queue .*AccessDenied: no/);
    expect(eventsMock.commandCalls(RemoveTargetsCommand)).toHaveLength(0);
    expect(eventsMock.commandCalls(DeleteRuleCommand)).toHaveLength(1);
    expect(sqsMock.commandCalls(DeleteQueueCommand)).toHaveLength(1);
  });

  it('names what it could not remove after a failed setup', async () => {
    eventsMock
      .on(PutRuleCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    sqsMock.on(DeleteQueueCommand).rejects(Object.assign(new Error('throttled'), { name: 'Throttling' }));

    await expect(
      subscribe(new SQSClient({}), new EventBridgeClient({}), { bus: 'b', source: 's' }),
    ).rejects.toThrow(
      `cannot subscribe to bus b: AccessDeniedException: denied; could not remove queue ${queueUrl}: Throttling: throttled`,
    );
    expect(eventsMock.commandCalls(DeleteRuleCommand)).toHaveLength(0);
  });
});
