import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type CfnResource,
  type CloudFormationTemplate,
  loadTemplate,
  MINIMAL_PARAMS,
  PACKAGING_HOOK_TIMEOUT_MS,
  type PackageRun,
  type PolicyStatement,
  resource,
  resourcesOfType,
  runPackage,
} from './load-template.ts';

const OVERRIDES = {
  allowedDomains: 'a-*,bookstore',
  producerPrincipals: 'arn:aws:iam::123456789012:role/producer,arn:aws:iam::210987654321:root',
  existingEventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/shared',
  alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alarms',
  maxAttempts: '12',
  maxReceiveCount: '15',
};

const getAttArn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const domainArn = (nameOrPattern: string) => ({
  'Fn::Sub': `arn:\${AWS::Partition}:es:\${AWS::Region}:\${AWS::AccountId}:domain/${nameOrPattern}`,
});
// The params decide the bus at package time (deploy/package-time-conditions.cjs): no Fn::If is left.
const createdBusArn = getAttArn('EventBus');
const existingBusArn = OVERRIDES.existingEventBusArn;

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function properties(resourceDefinition: CfnResource): Record<string, unknown> {
  return resourceDefinition.Properties ?? {};
}

function policyStatements(resourceDefinition: CfnResource): PolicyStatement[] {
  const props = properties(resourceDefinition);
  const documents =
    resourceDefinition.Type === 'AWS::IAM::Role'
      ? asArray(props.Policies as Array<{ PolicyDocument: unknown }>).map((policy) => policy.PolicyDocument)
      : [props.PolicyDocument];
  return documents.flatMap((document) => asArray((document as { Statement: PolicyStatement[] }).Statement));
}

function allPolicyStatements(template: CloudFormationTemplate): PolicyStatement[] {
  return [
    ...Object.values(resourcesOfType(template, 'AWS::IAM::Role')),
    ...Object.values(resourcesOfType(template, 'AWS::SQS::QueuePolicy')),
  ].flatMap(policyStatements);
}

/** action -> resources it is allowed on, sorted so the order of statements does not matter. */
function grants(statements: PolicyStatement[]): Record<string, unknown[]> {
  const byAction: Record<string, unknown[]> = {};
  for (const statement of statements.filter((candidate) => candidate.Effect === 'Allow')) {
    for (const action of asArray(statement.Action)) {
      byAction[action] = [...(byAction[action] ?? []), ...asArray(statement.Resource)];
    }
  }
  for (const resources of Object.values(byAction)) {
    resources.sort((left, right) => JSON.stringify(left).localeCompare(JSON.stringify(right)));
  }
  return byAction;
}

function sorted(resources: unknown[]): unknown[] {
  return [...resources].sort((left, right) => JSON.stringify(left).localeCompare(JSON.stringify(right)));
}

function roleOfFunction(template: CloudFormationTemplate, functionLogicalId: string): CfnResource {
  const role = properties(resource(template, functionLogicalId)).Role as { 'Fn::GetAtt': [string, string] };
  return resource(template, role['Fn::GetAtt'][0]);
}

function environmentOf(template: CloudFormationTemplate, functionLogicalId: string): Record<string, unknown> {
  const environment = properties(resource(template, functionLogicalId)).Environment as {
    Variables: Record<string, unknown>;
  };
  return environment.Variables;
}

function eventSourceMappingOf(template: CloudFormationTemplate, functionLogicalId: string) {
  const mappings = Object.values(resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')).filter(
    (mapping) =>
      JSON.stringify(properties(mapping).FunctionName) === JSON.stringify(getAttArn(functionLogicalId)),
  );
  expect(mappings).toHaveLength(1);
  return properties(mappings[0] as CfnResource);
}

function redrivePolicyOf(template: CloudFormationTemplate, queueLogicalId: string) {
  return properties(resource(template, queueLogicalId)).RedrivePolicy as {
    deadLetterTargetArn: unknown;
    maxReceiveCount: number | string;
  };
}

function queuePolicyOf(template: CloudFormationTemplate, queueLogicalId: string): PolicyStatement[] {
  const policies = Object.values(resourcesOfType(template, 'AWS::SQS::QueuePolicy')).filter((policy) =>
    asArray(properties(policy).Queues).some(
      (queue) => JSON.stringify(queue) === JSON.stringify({ Ref: queueLogicalId }),
    ),
  );
  expect(policies).toHaveLength(1);
  return policyStatements(policies[0] as CfnResource);
}

function alarmOn(template: CloudFormationTemplate, metricName: string, queueLogicalId: string) {
  const alarms = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).filter((alarm) => {
    const props = properties(alarm);
    return (
      props.Namespace === 'AWS/SQS' &&
      props.MetricName === metricName &&
      JSON.stringify(props.Dimensions) ===
        JSON.stringify([{ Name: 'QueueName', Value: { 'Fn::GetAtt': [queueLogicalId, 'QueueName'] } }])
    );
  });
  expect(alarms, `alarm on ${metricName} of ${queueLogicalId}`).toHaveLength(1);
  return properties(alarms[0] as CfnResource);
}

const FUNCTIONS = {
  associatePackage: { logicalId: 'AssociatePackageLambdaFunction', queue: 'RequestsQueue', concurrency: 5 },
  trackAssociation: { logicalId: 'TrackAssociationLambdaFunction', queue: 'TrackingQueue', concurrency: 2 },
} as const;

const QUEUES = ['RequestsQueue', 'RequestsDlq', 'TrackingQueue', 'TrackingDlq'];

const ENVIRONMENT_NAMES = [
  'EVENT_BUS_NAME',
  'EVENT_SOURCE',
  'DLQ_URL',
  'REQUESTS_QUEUE_URL',
  'TRACKING_QUEUE_URL',
  'TRACKING_DLQ_URL',
  'LEDGER_TABLE',
  'ALLOWED_DOMAINS',
  'KEY_ACCESS_ROLE_ARNS',
  'MAX_ATTEMPTS',
  'RETRY_BUDGET_SECONDS',
  'IDEMPOTENCY_TTL_SECONDS',
  'TRACKING_DEADLINE_SECONDS',
  'POWERTOOLS_SERVICE_NAME',
  'POWERTOOLS_METRICS_NAMESPACE',
  'POWERTOOLS_LOG_LEVEL',
];

function expectedGrants(domainArns: unknown[], busArn: unknown) {
  const ledger = {
    'dynamodb:GetItem': [getAttArn('LedgerTable')],
    'dynamodb:PutItem': [getAttArn('LedgerTable')],
  };
  const tracing = { 'xray:PutTraceSegments': ['*'], 'xray:PutTelemetryRecords': ['*'] };
  const consume = (queue: string) => ({
    'sqs:ReceiveMessage': [getAttArn(queue)],
    'sqs:DeleteMessage': [getAttArn(queue)],
    'sqs:GetQueueAttributes': [getAttArn(queue)],
    'sqs:ChangeMessageVisibility': [getAttArn(queue)],
  });
  const logs = (logGroup: string) => ({
    'logs:CreateLogStream': [getAttArn(logGroup)],
    'logs:PutLogEvents': [getAttArn(logGroup)],
  });
  return {
    associatePackage: {
      ...logs('AssociatePackageLogGroup'),
      ...tracing,
      ...consume('RequestsQueue'),
      // The DLQ, the tracker's queue, and the requests queue for a rollout's children.
      'sqs:SendMessage': sorted([
        getAttArn('RequestsDlq'),
        getAttArn('TrackingQueue'),
        getAttArn('RequestsQueue'),
      ]),
      'es:AssociatePackage': sorted(domainArns),
      'es:AssociatePackages': sorted(domainArns),
      'es:DissociatePackage': sorted(domainArns),
      'es:ListPackagesForDomain': sorted(domainArns),
      'es:DescribeDomain': sorted(domainArns),
      // Package reads: no resource-level permissions.
      'es:DescribePackages': ['*'],
      'es:GetPackageVersionHistory': ['*'],
      'es:ListDomainNames': ['*'],
      'events:PutEvents': [busArn],
      ...ledger,
    },
    trackAssociation: {
      ...logs('TrackAssociationLogGroup'),
      ...tracing,
      ...consume('TrackingQueue'),
      // A decision unlocks its domain and wakes the request waiting next, in the requests queue.
      'sqs:ChangeMessageVisibility': sorted([getAttArn('TrackingQueue'), getAttArn('RequestsQueue')]),
      'sqs:SendMessage': sorted([getAttArn('TrackingDlq'), getAttArn('RequestsQueue')]),
      'es:ListPackagesForDomain': sorted(domainArns),
      'events:PutEvents': [busArn],
      ...ledger,
    },
  };
}

describe('packaged CloudFormation template', () => {
  let template: CloudFormationTemplate;
  let overridden: CloudFormationTemplate;
  let rejected: PackageRun;

  beforeAll(async () => {
    [template, overridden, rejected] = await Promise.all([
      loadTemplate({ params: MINIMAL_PARAMS }),
      loadTemplate({ params: OVERRIDES }),
      runPackage({ params: { allowedDomains: 'catalog-search,Orders_*' } }),
    ]);
  }, PACKAGING_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    // Undefined when packaging itself threw; there is nothing to clean up then.
    if (rejected) await rm(rejected.workDir, { recursive: true, force: true });
  });

  describe('functions', () => {
    it.each(Object.entries(FUNCTIONS))('%s runs on nodejs24.x, arm64, with active tracing', (_name, fn) => {
      const props = properties(resource(template, fn.logicalId));
      expect(props.Runtime).toBe('nodejs24.x');
      expect(props.Architectures).toEqual(['arm64']);
      expect(props.TracingConfig).toEqual({ Mode: 'Active' });
      expect(props.Timeout).toBe(30);
      expect(props.MemorySize).toBe(256);
      expect(props.Handler).toMatch(/^src\/handlers\/[a-z-]+\.handler$/);
    });

    it.each(Object.entries(FUNCTIONS))('%s consumes its queue with partial batch responses', (_name, fn) => {
      const mapping = eventSourceMappingOf(template, fn.logicalId);
      expect(mapping.EventSourceArn).toEqual(getAttArn(fn.queue));
      expect(mapping.FunctionResponseTypes).toContain('ReportBatchItemFailures');
      expect(mapping.BatchSize).toBe(10);
      expect(mapping.MaximumBatchingWindowInSeconds).toBe(1);
      expect(mapping.ScalingConfig).toEqual({ MaximumConcurrency: fn.concurrency });
    });

    it.each(Object.entries(FUNCTIONS))('%s gets every environment variable the code reads', (_name, fn) => {
      const environment = environmentOf(template, fn.logicalId);
      expect(Object.keys(environment)).toEqual(expect.arrayContaining(ENVIRONMENT_NAMES));
      expect(environment).toMatchObject({
        EVENT_SOURCE: 'package-associator',
        DLQ_URL: { Ref: 'RequestsDlq' },
        REQUESTS_QUEUE_URL: { Ref: 'RequestsQueue' },
        TRACKING_QUEUE_URL: { Ref: 'TrackingQueue' },
        TRACKING_DLQ_URL: { Ref: 'TrackingDlq' },
        LEDGER_TABLE: { Ref: 'LedgerTable' },
        EVENT_BUS_NAME: { Ref: 'EventBus' },
        ALLOWED_DOMAINS: 'catalog-search,orders-*',
        KEY_ACCESS_ROLE_ARNS: '',
        IDEMPOTENCY_TTL_SECONDS: '86400',
        RETRY_BUDGET_SECONDS: '3600',
        MAX_ATTEMPTS: '40',
        TRACKING_DEADLINE_SECONDS: '1800',
        POWERTOOLS_SERVICE_NAME: 'package-associator',
        POWERTOOLS_METRICS_NAMESPACE: 'PackageAssociator',
        POWERTOOLS_LOG_LEVEL: 'INFO',
      });
    });

    it('keeps the function logs for 30 days', () => {
      for (const logGroup of Object.values(resourcesOfType(template, 'AWS::Logs::LogGroup'))) {
        expect(properties(logGroup).RetentionInDays).toBe(30);
      }
      expect(Object.keys(resourcesOfType(template, 'AWS::Logs::LogGroup')).sort()).toEqual([
        'AssociatePackageLogGroup',
        'TrackAssociationLogGroup',
      ]);
    });
  });

  describe('queues', () => {
    it('redrives requests only after more receives than the handler spends (MAX_ATTEMPTS), so it decides each', () => {
      const redrive = redrivePolicyOf(template, 'RequestsQueue');
      expect(redrive.deadLetterTargetArn).toEqual(getAttArn('RequestsDlq'));
      const attempts = Number(environmentOf(template, FUNCTIONS.associatePackage.logicalId).MAX_ATTEMPTS);
      expect(attempts).toBeGreaterThanOrEqual(5);
      expect(Number(redrive.maxReceiveCount)).toBeGreaterThan(attempts);
    });

    it('lets a tracking message be received for every check of the longest wait (SQS maximum 1000)', () => {
      const redrive = redrivePolicyOf(template, 'TrackingQueue');
      expect(redrive.deadLetterTargetArn).toEqual(getAttArn('TrackingDlq'));
      expect(Number(redrive.maxReceiveCount)).toBe(1000);
    });

    it.each([
      ['RequestsQueue', FUNCTIONS.associatePackage.logicalId],
      ['TrackingQueue', FUNCTIONS.trackAssociation.logicalId],
    ])('%s hides a received batch for at least 6x the function timeout', (queue, functionLogicalId) => {
      const timeout = Number(properties(resource(template, functionLogicalId)).Timeout);
      expect(timeout).toBeGreaterThan(0);
      expect(Number(properties(resource(template, queue)).VisibilityTimeout)).toBeGreaterThanOrEqual(
        6 * timeout,
      );
    });

    it('encrypts every queue at rest', () => {
      const queues = resourcesOfType(template, 'AWS::SQS::Queue');
      expect(Object.keys(queues).sort()).toEqual([...QUEUES].sort());
      for (const queue of Object.values(queues)) {
        expect(properties(queue).SqsManagedSseEnabled).toBe(true);
      }
    });

    it.each(['RequestsDlq', 'TrackingDlq'])('%s keeps messages for 14 days', (queue) => {
      expect(properties(resource(template, queue)).MessageRetentionPeriod).toBe(14 * 24 * 60 * 60);
    });

    it('leaves room in the DLQ for a request of the largest size plus its reason attributes', () => {
      const request = Number(properties(resource(template, 'RequestsQueue')).MaximumMessageSize);
      const deadLetters = Number(properties(resource(template, 'RequestsDlq')).MaximumMessageSize);
      expect(deadLetters - request).toBeGreaterThanOrEqual(8 * 1024);
    });

    it.each(QUEUES)('the policy of %s denies requests that do not use TLS', (queue) => {
      const denies = queuePolicyOf(template, queue).filter((statement) => statement.Effect === 'Deny');
      expect(denies).toContainEqual(
        expect.objectContaining({
          Principal: '*',
          Action: 'sqs:*',
          Resource: getAttArn(queue),
          Condition: { Bool: { 'aws:SecureTransport': 'false' } },
        }),
      );
    });

    it('names no producers by default: the requests queue policy adds nothing to this account IAM', () => {
      const statements = queuePolicyOf(template, 'RequestsQueue');
      expect(statements.map((statement) => statement.Sid)).toEqual(['DenyInsecureTransport']);
      for (const queue of ['RequestsDlq', 'TrackingQueue', 'TrackingDlq']) {
        expect(queuePolicyOf(template, queue).filter((statement) => statement.Effect === 'Allow')).toEqual(
          [],
        );
      }
    });
  });

  describe('ledger table', () => {
    it('is on-demand, expires records on `expiresAt`, has PITR and SSE', () => {
      const props = properties(resource(template, 'LedgerTable'));
      expect(props.BillingMode).toBe('PAY_PER_REQUEST');
      expect(props.KeySchema).toEqual([{ AttributeName: 'id', KeyType: 'HASH' }]);
      expect(props.AttributeDefinitions).toEqual([{ AttributeName: 'id', AttributeType: 'S' }]);
      expect(props.TimeToLiveSpecification).toEqual({ AttributeName: 'expiresAt', Enabled: true });
      expect(props.PointInTimeRecoverySpecification).toEqual({ PointInTimeRecoveryEnabled: true });
      expect(props.SSESpecification).toEqual({ SSEEnabled: true });
    });
  });

  describe('events', () => {
    it('creates the bus when no existing bus is given, decided at package time', () => {
      expect(resource(template, 'EventBus')).toEqual({
        Type: 'AWS::Events::EventBus',
        Properties: { Name: 'opensearch-package-associator-dev' },
      });
      expect(template.Conditions).toBeUndefined();
    });

    it('archives the events of this service for 30 days for replay', () => {
      const archives = Object.values(resourcesOfType(template, 'AWS::Events::Archive')).map(properties);
      expect(archives).toEqual([
        expect.objectContaining({
          SourceArn: createdBusArn,
          RetentionDays: 30,
          EventPattern: { source: ['package-associator'] },
        }),
      ]);
    });
  });

  describe('alarms', () => {
    it.each([
      ['RequestsDlq', 'NumberOfMessagesSent', 0],
      ['TrackingDlq', 'NumberOfMessagesSent', 0],
      ['RequestsDlq', 'ApproximateNumberOfMessagesVisible', 0],
      ['TrackingDlq', 'ApproximateNumberOfMessagesVisible', 0],
      ['RequestsQueue', 'ApproximateAgeOfOldestMessage', 900],
      ['TrackingQueue', 'ApproximateAgeOfOldestMessage', 900],
    ])('%s alarms when %s exceeds %d', (queue, metricName, threshold) => {
      const alarm = alarmOn(template, metricName, queue);
      expect(alarm.Threshold).toBe(threshold);
      expect(alarm.ComparisonOperator).toBe('GreaterThanThreshold');
    });

    it('notifies nobody when no alarm topic is given: the alarms still change state', () => {
      const alarms = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).map(properties);
      expect(alarms.length).toBeGreaterThan(10);
      for (const alarm of alarms) {
        expect(alarm).not.toHaveProperty('AlarmActions');
        expect(alarm).not.toHaveProperty('OKActions');
      }
    });
  });

  describe('IAM', () => {
    it('allows no wildcard action; only the TLS denies use one', () => {
      const statements = allPolicyStatements(template);
      expect(statements.length).toBeGreaterThan(10);
      for (const statement of statements) {
        const wildcards = asArray(statement.Action).filter(
          (action) => action === '*' || action.endsWith(':*'),
        );
        if (statement.Effect === 'Allow' || wildcards.length === 0) {
          expect(wildcards, `statement ${statement.Sid ?? JSON.stringify(statement)}`).toEqual([]);
        } else {
          expect(statement.Condition).toEqual({ Bool: { 'aws:SecureTransport': 'false' } });
        }
      }
    });

    it('gives each function its own role and no shared default role', () => {
      expect(template.Resources.IamRoleLambdaExecution).toBeUndefined();
      const roles = Object.values(FUNCTIONS).map((fn) => roleOfFunction(template, fn.logicalId));
      expect(new Set(roles).size).toBe(roles.length);
      for (const role of roles) {
        expect(properties(role).ManagedPolicyArns).toBeUndefined();
      }
    });

    it.each(Object.entries(FUNCTIONS))(
      '%s may call only what it calls, only where it calls it',
      (name, fn) => {
        const expected = expectedGrants([domainArn('catalog-search'), domainArn('orders-*')], createdBusArn);
        const role = roleOfFunction(template, fn.logicalId);
        expect(grants(policyStatements(role))).toEqual(expected[name as keyof typeof expected]);
      },
    );

    it('scopes every OpenSearch action on a domain to the allowed domains, never to all domains', () => {
      const packageReads = new Set([
        'es:DescribePackages',
        'es:GetPackageVersionHistory',
        'es:ListDomainNames',
      ]);
      const esStatements = allPolicyStatements(template).filter((statement) =>
        asArray(statement.Action).some((action) => action.startsWith('es:') && !packageReads.has(action)),
      );
      expect(esStatements).toHaveLength(2);
      for (const statement of esStatements) {
        expect(statement.Resource).toEqual([domainArn('catalog-search'), domainArn('orders-*')]);
        expect(JSON.stringify(statement.Resource)).not.toContain('domain/*');
      }
    });

    it('lets events:PutEvents reach only the bus', () => {
      const putEvents = allPolicyStatements(template).filter((statement) =>
        asArray(statement.Action).includes('events:PutEvents'),
      );
      expect(putEvents).toHaveLength(2);
      for (const statement of putEvents) {
        expect(statement.Action).toBe('events:PutEvents');
        expect(statement.Resource).toEqual(createdBusArn);
      }
    });
  });

  describe('outputs', () => {
    it('exports the queue URLs and ARNs, the bus and the table', () => {
      expect(Object.keys(template.Outputs ?? {})).toEqual(
        expect.arrayContaining([
          'RequestsQueueUrl',
          'RequestsQueueArn',
          'RequestsDlqUrl',
          'RequestsDlqArn',
          'TrackingQueueUrl',
          'TrackingQueueArn',
          'TrackingDlqUrl',
          'TrackingDlqArn',
          'EventBusName',
          'EventBusArn',
          'LedgerTableName',
        ]),
      );
      expect(template.Outputs?.LedgerTableName?.Value).toEqual({ Ref: 'LedgerTable' });
    });
  });

  describe('with --param overrides', () => {
    it('grants the OpenSearch actions on the domains and patterns given', () => {
      const expected = expectedGrants([domainArn('a-*'), domainArn('bookstore')], existingBusArn);
      for (const [name, fn] of Object.entries(FUNCTIONS)) {
        const role = roleOfFunction(overridden, fn.logicalId);
        expect(grants(policyStatements(role))).toEqual(expected[name as keyof typeof expected]);
      }
      expect(environmentOf(overridden, FUNCTIONS.associatePackage.logicalId).ALLOWED_DOMAINS).toBe(
        'a-*,bookstore',
      );
    });

    it('lets exactly the given producer principals send requests', () => {
      const allows = queuePolicyOf(overridden, 'RequestsQueue').filter(
        (statement) => statement.Effect === 'Allow',
      );
      expect(allows.map((statement) => statement.Principal)).toEqual([
        { AWS: ['arn:aws:iam::123456789012:role/producer', 'arn:aws:iam::210987654321:root'] },
      ]);
    });

    it('publishes to the existing bus instead of creating one', () => {
      expect(overridden.Resources.EventBus).toBeUndefined();
      expect(overridden.Resources.EventBusPolicy).toBeUndefined();
      expect(overridden.Conditions).toBeUndefined();
      const environment = environmentOf(overridden, FUNCTIONS.trackAssociation.logicalId);
      expect(environment.EVENT_BUS_NAME).toBe(OVERRIDES.existingEventBusArn);
      expect(properties(resource(overridden, 'EventArchive')).SourceArn).toBe(OVERRIDES.existingEventBusArn);
      const role = roleOfFunction(overridden, FUNCTIONS.trackAssociation.logicalId);
      expect(grants(policyStatements(role))['events:PutEvents']).toEqual([existingBusArn]);
    });

    it('takes maxReceiveCount and MAX_ATTEMPTS from their params', () => {
      expect(Number(redrivePolicyOf(overridden, 'RequestsQueue').maxReceiveCount)).toBe(15);
      expect(environmentOf(overridden, FUNCTIONS.associatePackage.logicalId).MAX_ATTEMPTS).toBe('12');
    });

    it('notifies the alarm topic when an alarm fires and when it clears', () => {
      const alarms = Object.values(resourcesOfType(overridden, 'AWS::CloudWatch::Alarm'));
      expect(alarms.length).toBeGreaterThan(10);
      for (const alarm of alarms) {
        expect(properties(alarm).AlarmActions).toEqual([OVERRIDES.alarmTopicArn]);
        expect(properties(alarm).OKActions).toEqual([OVERRIDES.alarmTopicArn]);
      }
    });

    it('refuses to package an allow-list entry that is not a domain name or pattern', () => {
      expect(rejected.exitCode).not.toBe(0);
      expect(rejected.output).toContain('Invalid param "allowedDomains": "Orders_*"');
    });
  });
});
