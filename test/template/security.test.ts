/**
 * Least privilege, derived from the code rather than restated: the IAM actions each function may call are
 * read from the SDK commands its code sends, and the resources from the settings its code sends them to.
 * What template.test.ts already pins (exact grants for the default params, TLS denies, table settings) is
 * not repeated here.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  type CfnResource,
  type CloudFormationTemplate,
  loadTemplate,
  MINIMAL_PARAMS,
  PACKAGING_HOOK_TIMEOUT_MS,
  type PolicyStatement,
  PROJECT_ROOT,
  resource,
  resourcesOfType,
} from './load-template.ts';

const PRODUCER = 'arn:aws:iam::111122223333:role/producer';

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];
const canonical = (values: unknown[]): unknown[] =>
  [...new Set(values.map((value) => JSON.stringify(value)))].sort().map((text) => JSON.parse(text));

function propertiesOf(definition: CfnResource): Record<string, unknown> {
  return definition.Properties ?? {};
}

function roleStatements(role: CfnResource): PolicyStatement[] {
  const policies = asArray(propertiesOf(role).Policies as Array<{ PolicyDocument: { Statement: unknown } }>);
  return policies.flatMap((policy) => asArray(policy.PolicyDocument.Statement as PolicyStatement[]));
}

function queuePolicyStatements(
  template: CloudFormationTemplate,
): Array<PolicyStatement & { queues: unknown }> {
  return Object.values(resourcesOfType(template, 'AWS::SQS::QueuePolicy')).flatMap((policy) => {
    const props = propertiesOf(policy) as { Queues: unknown; PolicyDocument: { Statement: unknown } };
    return asArray(props.PolicyDocument.Statement as PolicyStatement[]).map((statement) => ({
      ...statement,
      queues: props.Queues,
    }));
  });
}

/** action -> every resource an Allow grants it on. */
function grantsOf(statements: PolicyStatement[]): Map<string, unknown[]> {
  const grants = new Map<string, unknown[]>();
  for (const statement of statements.filter((candidate) => candidate.Effect === 'Allow')) {
    for (const action of asArray(statement.Action)) {
      grants.set(action, canonical([...(grants.get(action) ?? []), ...asArray(statement.Resource)]));
    }
  }
  return grants;
}

/** `{ Ref: X }` (what a function's environment holds) -> `{ Fn::GetAtt: [X, Arn] }` (what IAM names). */
function arnOf(reference: unknown): unknown {
  if (Array.isArray(reference)) return reference.map(arnOf);
  if (typeof reference !== 'object' || reference === null) return reference;
  const { Ref: logicalId } = reference as { Ref?: unknown };
  if (typeof logicalId === 'string' && !logicalId.startsWith('AWS::'))
    return { 'Fn::GetAtt': [logicalId, 'Arn'] };
  return Object.fromEntries(Object.entries(reference).map(([key, value]) => [key, arnOf(value)]));
}

/** The code no longer has the shape these readers expect: update them rather than the expectations. */
class CodeReadingError extends Error {
  override name = 'CodeReadingError';
}

// --- What the code sends -------------------------------------------------------------------------------------

const source = (path: string) => readFileSync(join(PROJECT_ROOT, path), 'utf8');
/** SQS authorises a batch call by its single-message action (Service Authorization Reference, Amazon SQS). */
const BATCH_COMMAND_ACTION: Record<string, string> = {
  SendMessageBatch: 'SendMessage',
  DeleteMessageBatch: 'DeleteMessage',
  ChangeMessageVisibilityBatch: 'ChangeMessageVisibility',
  // The DocumentClient's commands (@aws-sdk/lib-dynamodb) are the item actions they marshal for.
  Get: 'GetItem',
  Put: 'PutItem',
  Update: 'UpdateItem',
};
const commandsIn = (text: string) =>
  [...text.matchAll(/new (\w+)Command\(/g)].map((match) => {
    const command = match[1] ?? '';
    return BATCH_COMMAND_ACTION[command] ?? command;
  });

/** IAM prefix of each SDK client package the adapters import (Service Authorization Reference). */
const IAM_PREFIX: Record<string, string> = {
  'client-opensearch': 'es',
  'client-sqs': 'sqs',
  'client-eventbridge': 'events',
  'client-dynamodb': 'dynamodb',
};

/** The IAM prefix of the one SDK client a module imports. */
function iamPrefixOf(text: string): string {
  const sdkPackage = /from ['"]@aws-sdk\/(client-[a-z]+)['"]/.exec(text)?.[1] ?? '';
  const prefix = IAM_PREFIX[sdkPackage];
  if (prefix === undefined) throw new CodeReadingError(`no IAM prefix known for @aws-sdk/${sdkPackage}`);
  return prefix;
}

/** IAM actions of the SDK commands a module sends: `new AssociatePackageCommand(` -> `es:AssociatePackage`. */
function iamActionsOf(path: string): string[] {
  const text = source(path);
  return commandsIn(text).map((command) => `${iamPrefixOf(text)}:${command}`);
}

/** Adapter method -> the IAM actions of the SDK commands it sends, read from the method's own source. */
function adapterActions(path: string, objectName: string): Map<string, string[]> {
  const text = source(path);
  const prefix = iamPrefixOf(text);
  const methods = new Map<string, string[]>();
  // Each adapter is an object literal of `async method(...) {...}`: a method's body runs to the next one.
  const chunks = text.split(/\basync (\w+)\(/);
  for (let index = 1; index < chunks.length; index += 2) {
    const commands = commandsIn(chunks[index + 1] ?? '');
    methods.set(
      `${objectName}.${chunks[index]}`,
      commands.map((command) => `${prefix}:${command}`),
    );
  }
  return methods;
}

/** The settings a service sends messages to (`config.dlqUrl`), mapped to the environment variables behind them. */
function queueSettingsUsedBy(text: string): string[] {
  const environmentOfSetting = new Map(
    [...source('src/config.ts').matchAll(/(\w+Url): env\.(\w+)/g)].map((match) => [match[1], match[2]]),
  );
  return [...new Set([...text.matchAll(/\bconfig\.(\w+Url)\b/g)].map((match) => match[1] ?? ''))].map(
    (setting) => {
      const variable = environmentOfSetting.get(setting);
      if (variable === undefined)
        throw new CodeReadingError(`config.${setting} is not read from the environment`);
      return variable;
    },
  );
}

const METHOD_ACTIONS = new Map([
  ...adapterActions('src/adapters/opensearch.ts', 'associations'),
  ...adapterActions('src/adapters/queues.ts', 'queues'),
]);
/** Every event goes out through BatchedEventPublisher.publish, whose only AWS call is PutEvents. */
const PUBLISH_ACTIONS = iamActionsOf('src/adapters/event-publisher.ts');
/** The request ledger's calls, read from its adapter. */
const LEDGER_ACTIONS = iamActionsOf('src/adapters/ledger.ts');
/** What the event source mapping does with the function's role (Lambda developer guide, SQS permissions). */
const EVENT_SOURCE_MAPPING_ACTIONS = ['sqs:ReceiveMessage', 'sqs:DeleteMessage', 'sqs:GetQueueAttributes'];
const LOG_ACTIONS = ['logs:CreateLogStream', 'logs:PutLogEvents'];
/** Reads of a package, not a domain: IAM has no resource-level permissions for them. */
const PACKAGE_READS: ReadonlySet<string> = new Set([
  'es:DescribePackages',
  'es:GetPackageVersionHistory',
  'es:ListDomainNames',
]);
const TRACE_ACTIONS = ['xray:PutTraceSegments', 'xray:PutTelemetryRecords'];

/**
 * What one function's code calls and where, from its service module and the shared runtime it uses:
 * IAM action -> a function setting (environment variable), its own event source or log group, or `*`.
 */
function codeUseOf(serviceModule: string): Map<string, Set<string>> {
  const text = serviceSources(serviceModule).join('\n');
  const actions = new Map<string, Set<string>>();
  const add = (action: string, where: string) =>
    actions.set(action, (actions.get(action) ?? new Set()).add(where));
  for (const [, object, method] of text.matchAll(/\b(associations|queues)\.(\w+)\(/g)) {
    const methodActions = METHOD_ACTIONS.get(`${object}.${method}`);
    if (methodActions === undefined)
      throw new CodeReadingError(`${object}.${method} is not an adapter method`);
    for (const action of methodActions) {
      if (PACKAGE_READS.has(action)) add(action, '*');
      else if (action.startsWith('es:')) add(action, 'ALLOWED_DOMAINS');
      // Visibility changes target the record's own queue (queueUrlFromArn(record.eventSourceARN)).
      else if (action === 'sqs:ChangeMessageVisibility') {
        add(action, 'event source');
        // `wake` makes a waiting request's message visible: only requests wait for a domain.
        if (/\bqueues\.defer\(requestsQueueUrl\b/.test(text)) add(action, 'REQUESTS_QUEUE_URL');
      } else for (const variable of queueSettingsUsedBy(text)) add(action, variable);
    }
  }
  // A BatchedQueueSender sends through queues.sendBatch to the queue it is built with.
  if (/\bnew BatchedQueueSender\(/.test(text)) {
    for (const action of METHOD_ACTIONS.get('queues.sendBatch') ?? []) {
      for (const variable of queueSettingsUsedBy(text)) add(action, variable);
    }
  }
  if (/\.publish\(/.test(text)) for (const action of PUBLISH_ACTIONS) add(action, 'EVENT_BUS_NAME');
  if (/\bledger\.(get|write)\(/.test(text)) for (const action of LEDGER_ACTIONS) add(action, 'LEDGER_TABLE');
  for (const action of EVENT_SOURCE_MAPPING_ACTIONS) add(action, 'event source');
  for (const action of LOG_ACTIONS) add(action, 'log group');
  for (const action of TRACE_ACTIONS) add(action, '*');
  return actions;
}

/** A service module and every module of src/service it imports, directly or not. */
function serviceSources(serviceModule: string, seen = new Set<string>()): string[] {
  if (seen.has(serviceModule)) return [];
  seen.add(serviceModule);
  const text = source(serviceModule);
  const imported = [...text.matchAll(/from '\.\/([\w-]+\.ts)'/g)].map(([, file]) => `src/service/${file}`);
  return [text, ...imported.flatMap((module) => serviceSources(module, seen))];
}

const FUNCTIONS = {
  associatePackage: { logicalId: 'AssociatePackageLambdaFunction', service: 'src/service/associate.ts' },
  trackAssociation: { logicalId: 'TrackAssociationLambdaFunction', service: 'src/service/track.ts' },
} as const;

// --- The template side ---------------------------------------------------------------------------------------

function functionOf(template: CloudFormationTemplate, logicalId: string) {
  const props = propertiesOf(resource(template, logicalId)) as {
    FunctionName: string;
    Role: { 'Fn::GetAtt': [string, string] };
    Environment: { Variables: Record<string, unknown> };
  };
  const mappings = Object.values(resourcesOfType(template, 'AWS::Lambda::EventSourceMapping')).filter(
    (mapping) =>
      JSON.stringify(propertiesOf(mapping).FunctionName) === JSON.stringify(arnOf({ Ref: logicalId })),
  );
  expect(mappings).toHaveLength(1);
  const logGroups = Object.entries(resourcesOfType(template, 'AWS::Logs::LogGroup')).filter(
    ([, group]) => propertiesOf(group).LogGroupName === `/aws/lambda/${props.FunctionName}`,
  );
  expect(logGroups).toHaveLength(1);
  return {
    role: resource(template, props.Role['Fn::GetAtt'][0]),
    environment: props.Environment.Variables,
    eventSourceArn: propertiesOf(mappings[0] as CfnResource).EventSourceArn,
    logGroupArn: arnOf({ Ref: logGroups[0]?.[0] }),
  };
}

/** The domain ARNs IAM must name for the allow-list the handler enforces (`prefix*` stays a prefix wildcard). */
function domainArnsFor(allowedDomains: string): unknown[] {
  return allowedDomains
    .split(',')
    .map((entry) => entry.trim())
    .filter((entry) => entry.length > 0)
    .map((entry) => ({
      'Fn::Sub': `arn:\${AWS::Partition}:es:\${AWS::Region}:\${AWS::AccountId}:domain/${entry}`,
    }));
}

/** The grants a function needs: each action the code uses, on exactly the resources it uses it on. */
function expectedGrants(template: CloudFormationTemplate, fn: (typeof FUNCTIONS)[keyof typeof FUNCTIONS]) {
  const deployed = functionOf(template, fn.logicalId);
  const resourcesAt = (where: string): unknown => {
    if (where === '*') return '*';
    if (where === 'event source') return deployed.eventSourceArn;
    if (where === 'log group') return deployed.logGroupArn;
    const value = deployed.environment[where];
    expect(value, `the function's ${where}`).toBeDefined();
    return where === 'ALLOWED_DOMAINS' ? domainArnsFor(String(value)) : arnOf(value);
  };
  const expected = new Map<string, unknown[]>();
  for (const [action, places] of codeUseOf(fn.service)) {
    expected.set(action, canonical([...places].flatMap((where) => asArray(resourcesAt(where)))));
  }
  return expected;
}

describe('packaged template: security', () => {
  let template: CloudFormationTemplate;

  beforeAll(async () => {
    template = await loadTemplate({ params: { ...MINIMAL_PARAMS, producerPrincipals: PRODUCER } });
  }, PACKAGING_HOOK_TIMEOUT_MS);

  describe('what the code calls', () => {
    it('reads the SDK commands the adapters send', () => {
      expect(Object.fromEntries(METHOD_ACTIONS)).toEqual({
        'associations.associate': ['es:AssociatePackage'],
        'associations.associateMany': ['es:AssociatePackages'],
        'associations.dissociate': ['es:DissociatePackage'],
        'associations.describePackage': ['es:DescribePackages'],
        'associations.versionHistory': ['es:GetPackageVersionHistory'],
        'associations.isProcessing': ['es:DescribeDomain'],
        'associations.listDomainNames': ['es:ListDomainNames'],
        'associations.list': ['es:ListPackagesForDomain'],
        'associations.find': ['es:ListPackagesForDomain'],
        'queues.defer': ['sqs:ChangeMessageVisibility'],
        'queues.sendDeadLetter': ['sqs:SendMessage'],
        'queues.sendBatch': ['sqs:SendMessage'],
      });
      expect(PUBLISH_ACTIONS).toEqual(['events:PutEvents']);
      expect([...LEDGER_ACTIONS].sort()).toEqual(['dynamodb:GetItem', 'dynamodb:PutItem']);
    });

    it('sees that only associate-package associates, and where each function sends messages', () => {
      const associate = codeUseOf(FUNCTIONS.associatePackage.service);
      const track = codeUseOf(FUNCTIONS.trackAssociation.service);
      expect(associate.has('es:AssociatePackage')).toBe(true);
      expect(track.has('es:AssociatePackage')).toBe(false);
      expect([...(associate.get('sqs:SendMessage') ?? [])].sort()).toEqual([
        'DLQ_URL',
        'REQUESTS_QUEUE_URL',
        'TRACKING_QUEUE_URL',
      ]);
      // The next check is the same message made visible later: the tracker sends only malformed ones, aside,
      // and the children of a rollout wave its decision starts.
      expect([...(track.get('sqs:SendMessage') ?? [])].sort()).toEqual([
        'REQUESTS_QUEUE_URL',
        'TRACKING_DLQ_URL',
      ]);
    });
  });

  describe.each(Object.entries(FUNCTIONS))('the role of %s', (_name, fn) => {
    it('allows exactly the actions its code calls, each on exactly the resources it calls it on', () => {
      const granted = grantsOf(roleStatements(functionOf(template, fn.logicalId).role));
      expect(Object.fromEntries(granted)).toEqual(Object.fromEntries(expectedGrants(template, fn)));
    });

    it('uses Resource "*" only for X-Ray and package reads, which have no resource-level permissions', () => {
      for (const statement of roleStatements(functionOf(template, fn.logicalId).role)) {
        if (asArray(statement.Resource).includes('*')) {
          const wildcardable = (action: string) => action.startsWith('xray:') || PACKAGE_READS.has(action);
          expect(asArray(statement.Action).every(wildcardable)).toBe(true);
        }
      }
    });

    it('scopes OpenSearch actions to the allowed domains the handler enforces, never to all domains', () => {
      const { role, environment } = functionOf(template, fn.logicalId);
      const esStatements = roleStatements(role).filter((statement) =>
        asArray(statement.Action).some((action) => action.startsWith('es:') && !PACKAGE_READS.has(action)),
      );
      expect(esStatements.length).toBeGreaterThan(0);
      for (const statement of esStatements) {
        expect(canonical(asArray(statement.Resource))).toEqual(
          canonical(domainArnsFor(String(environment.ALLOWED_DOMAINS))),
        );
        expect(JSON.stringify(statement.Resource)).not.toMatch(/domain\/\*"|:\*"/);
      }
    });

    it('grants nothing through NotAction, NotResource or a condition', () => {
      for (const statement of roleStatements(functionOf(template, fn.logicalId).role)) {
        expect(statement.Effect).toBe('Allow');
        expect(statement).not.toHaveProperty('NotAction');
        expect(statement).not.toHaveProperty('NotResource');
        expect(statement).not.toHaveProperty('Condition');
      }
    });

    it('can be assumed by Lambda only', () => {
      const trust = propertiesOf(functionOf(template, fn.logicalId).role).AssumeRolePolicyDocument as {
        Statement: PolicyStatement[];
      };
      expect(trust.Statement).toEqual([
        { Effect: 'Allow', Principal: { Service: 'lambda.amazonaws.com' }, Action: 'sts:AssumeRole' },
      ]);
    });
  });

  it('attaches no permissions outside the two function roles', () => {
    for (const type of ['AWS::IAM::Policy', 'AWS::IAM::ManagedPolicy', 'AWS::IAM::User', 'AWS::IAM::Group']) {
      expect(Object.keys(resourcesOfType(template, type)), type).toEqual([]);
    }
    expect(Object.keys(resourcesOfType(template, 'AWS::IAM::Role')).sort()).toEqual(
      Object.values(FUNCTIONS)
        .map((fn) => propertiesOf(resource(template, fn.logicalId)).Role as { 'Fn::GetAtt': [string] })
        .map((role) => role['Fn::GetAtt'][0])
        .sort(),
    );
  });

  describe('data at rest and in transit', () => {
    it('encrypts every queue, table and bucket the template declares', () => {
      const queues = Object.values(resourcesOfType(template, 'AWS::SQS::Queue')).map(propertiesOf);
      const tables = Object.values(resourcesOfType(template, 'AWS::DynamoDB::Table')).map(propertiesOf);
      const buckets = Object.values(resourcesOfType(template, 'AWS::S3::Bucket')).map(propertiesOf);
      expect(queues.length).toBeGreaterThan(0);
      expect(tables.length).toBeGreaterThan(0);
      for (const queue of queues) {
        expect(queue.SqsManagedSseEnabled === true || queue.KmsMasterKeyId !== undefined).toBe(true);
      }
      for (const table of tables) expect(table.SSESpecification).toMatchObject({ SSEEnabled: true });
      for (const bucket of buckets) expect(bucket.BucketEncryption).toBeDefined();
    });

    it('lets no queue the template declares be reached without TLS', () => {
      const statements = queuePolicyStatements(template);
      for (const queueId of Object.keys(resourcesOfType(template, 'AWS::SQS::Queue'))) {
        const denies = statements.filter(
          (statement) =>
            statement.Effect === 'Deny' &&
            JSON.stringify(statement.queues) === JSON.stringify([{ Ref: queueId }]) &&
            JSON.stringify(statement.Condition) ===
              JSON.stringify({ Bool: { 'aws:SecureTransport': 'false' } }),
        );
        expect(denies, queueId).toHaveLength(1);
        expect(denies[0]).toMatchObject({
          Principal: '*',
          Action: 'sqs:*',
          Resource: arnOf({ Ref: queueId }),
        });
      }
    });
  });

  describe('who may send requests', () => {
    it('lets exactly the producerPrincipals param send to the requests queue, and do nothing else', () => {
      const allows = queuePolicyStatements(template).filter((statement) => statement.Effect === 'Allow');
      expect(allows).toEqual([
        {
          Sid: 'AllowProducersToSendRequests',
          Effect: 'Allow',
          Principal: { AWS: [PRODUCER] },
          Action: 'sqs:SendMessage',
          Resource: arnOf({ Ref: 'RequestsQueue' }),
          queues: [{ Ref: 'RequestsQueue' }],
        },
      ]);
    });

    it('no longer grants the deploying account once producers are named', () => {
      expect(JSON.stringify(queuePolicyStatements(template))).not.toContain(':root');
    });
  });
});
