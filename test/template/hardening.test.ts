/**
 * What the packaged template guards, for the defaults (plus the required allow-list) and for the production
 * parameter set in deploy/production.params.json: who may pass roles, send to the queues and publish the
 * service's source; what outlives the stack; and that the params are decided before CloudFormation sees them.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadParamDefaults } from '../../local/serverless-config.ts';
import {
  type CfnResource,
  type CloudFormationTemplate,
  loadTemplate,
  MINIMAL_PARAMS,
  PACKAGING_HOOK_TIMEOUT_MS,
  type PackageRun,
  type PolicyStatement,
  PRODUCTION_PARAMS,
  PROJECT_ROOT,
  resource,
  resourcesOfType,
  runPackage,
} from './load-template.ts';

const FUNCTIONS = {
  associatePackage: 'AssociatePackageLambdaFunction',
  trackAssociation: 'TrackAssociationLambdaFunction',
} as const;
const TLS_ONLY = { Bool: { 'aws:SecureTransport': 'false' } };
const getAttArn = (logicalId: string) => ({ 'Fn::GetAtt': [logicalId, 'Arn'] });
const list = (text: string | undefined) => (text ?? '').split(',').filter((entry) => entry !== '');
const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

function propertiesOf(definition: CfnResource): Record<string, unknown> {
  return definition.Properties ?? {};
}

function roleOf(template: CloudFormationTemplate, functionLogicalId: string): string {
  const role = propertiesOf(resource(template, functionLogicalId)).Role as { 'Fn::GetAtt': [string, string] };
  return role['Fn::GetAtt'][0];
}

function roleStatements(template: CloudFormationTemplate, roleLogicalId: string): PolicyStatement[] {
  const policies = propertiesOf(resource(template, roleLogicalId)).Policies as Array<{
    PolicyDocument: { Statement: PolicyStatement[] };
  }>;
  return policies.flatMap((policy) => policy.PolicyDocument.Statement);
}

function queueStatements(template: CloudFormationTemplate, queueLogicalId: string): PolicyStatement[] {
  const policies = Object.values(resourcesOfType(template, 'AWS::SQS::QueuePolicy')).filter(
    (policy) => JSON.stringify(propertiesOf(policy).Queues) === JSON.stringify([{ Ref: queueLogicalId }]),
  );
  expect(policies).toHaveLength(1);
  return (propertiesOf(policies[0] as CfnResource).PolicyDocument as { Statement: PolicyStatement[] })
    .Statement;
}

function environmentOf(template: CloudFormationTemplate, functionLogicalId: string): Record<string, unknown> {
  return (
    propertiesOf(resource(template, functionLogicalId)).Environment as { Variables: Record<string, unknown> }
  ).Variables;
}

/** Every statement of every role, queue policy and bus policy: where an iam:PassRole could hide. */
function everyStatement(template: CloudFormationTemplate): PolicyStatement[] {
  const roles = Object.keys(resourcesOfType(template, 'AWS::IAM::Role')).flatMap((id) =>
    roleStatements(template, id),
  );
  const queues = Object.values(resourcesOfType(template, 'AWS::SQS::QueuePolicy')).flatMap(
    (policy) => (propertiesOf(policy).PolicyDocument as { Statement: PolicyStatement[] }).Statement,
  );
  const buses = Object.values(resourcesOfType(template, 'AWS::Events::EventBusPolicy')).map(
    (policy) => propertiesOf(policy).Statement as PolicyStatement,
  );
  return [...roles, ...queues, ...buses];
}

/** The ids a piece of template refers to (Ref, Fn::GetAtt, Fn::Sub). */
function references(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) references(item, found);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Ref' && typeof value === 'string') found.add(value);
      else if (key === 'Fn::GetAtt' && Array.isArray(value)) found.add(String(value[0]));
      else if (key === 'Fn::Sub' && typeof value === 'string') {
        for (const [, id] of value.matchAll(/\$\{([\w]+)[.}]/g)) found.add(id ?? '');
      } else references(value, found);
    }
  }
  return found;
}

describe('packaged template: hardening', () => {
  const templates: Record<'minimal' | 'production', CloudFormationTemplate> = {} as never;
  let withoutAllowList: PackageRun;
  let badKeyRole: PackageRun;

  beforeAll(async () => {
    [templates.minimal, templates.production, withoutAllowList, badKeyRole] = await Promise.all([
      loadTemplate({ params: MINIMAL_PARAMS }),
      loadTemplate({ params: PRODUCTION_PARAMS }),
      runPackage(),
      runPackage({
        params: { ...MINIMAL_PARAMS, keyAccessRoleArns: 'arn:aws:iam::123456789012:user/someone' },
      }),
    ]);
  }, PACKAGING_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    for (const run of [withoutAllowList, badKeyRole])
      if (run) await rm(run.workDir, { recursive: true, force: true });
  });

  describe('the required allow-list', () => {
    it('refuses to package without allowedDomains, naming the param and how to pass it', () => {
      expect(withoutAllowList.exitCode).not.toBe(0);
      expect(withoutAllowList.output).toContain(
        'Invalid param "allowedDomains": is required and has no default: pass --param="allowedDomains=',
      );
    });

    it('has no default; only the local stage that `npm start` runs as has an allow-list of its own', () => {
      const serverlessYml = `${PROJECT_ROOT}/serverless.yml`;
      expect(loadParamDefaults(serverlessYml)).not.toHaveProperty('allowedDomains');
      expect(loadParamDefaults(serverlessYml, { stage: 'dev' })).not.toHaveProperty('allowedDomains');
      expect(loadParamDefaults(serverlessYml, { stage: 'local' }).allowedDomains).toBe(
        'catalog-search,orders-*,search-*',
      );
    });
  });

  describe.each(['minimal', 'production'] as const)('decided at package time (%s params)', (set) => {
    it('holds no condition and no Fn::If: only what applies', () => {
      const template = templates[set];
      expect(template.Conditions).toBeUndefined();
      expect(JSON.stringify(template)).not.toMatch(/"Fn::If"|"Condition":"|AWS::NoValue/);
    });

    it('holds no empty ARN where an unset param used to land (no AlarmActions [""], no Resource "")', () => {
      const text = JSON.stringify(templates[set].Resources);
      expect(text).not.toContain('"Resource":""');
      expect(text).not.toMatch(/"(AlarmActions|OKActions)":\[""\]/);
    });

    it('has no DependsOn its properties already imply', () => {
      for (const [id, definition] of Object.entries(templates[set].Resources)) {
        const implied = references(definition.Properties);
        for (const dependency of asArray(definition.DependsOn)) {
          expect(implied.has(dependency), `${id} -> ${dependency}`).toBe(false);
        }
      }
      // osls's own log-group dependency, which nothing implies, is still there.
      expect(resource(templates[set], FUNCTIONS.associatePackage).DependsOn).toEqual([
        'AssociatePackageLogGroup',
      ]);
    });
  });

  describe('iam:PassRole for key-access roles', () => {
    it('is granted nowhere when no key-access roles are configured', () => {
      const passRole = everyStatement(templates.minimal).filter((statement) =>
        asArray(statement.Action).some((action) => action === 'iam:PassRole' || action === 'iam:*'),
      );
      expect(passRole).toEqual([]);
      for (const fn of Object.values(FUNCTIONS))
        expect(environmentOf(templates.minimal, fn).KEY_ACCESS_ROLE_ARNS).toBe('');
    });

    it('lets associate-package pass exactly the configured roles, only to OpenSearch', () => {
      const roles = list(PRODUCTION_PARAMS.keyAccessRoleArns);
      expect(roles.length).toBeGreaterThan(1);
      const statements = roleStatements(
        templates.production,
        roleOf(templates.production, FUNCTIONS.associatePackage),
      );
      expect(statements.filter((statement) => asArray(statement.Action).includes('iam:PassRole'))).toEqual([
        {
          Sid: 'PassKeyAccessRolesToOpenSearch',
          Effect: 'Allow',
          Action: 'iam:PassRole',
          Resource: roles,
          Condition: { StringEquals: { 'iam:PassedToService': 'es.amazonaws.com' } },
        },
      ]);
    });

    it('grants track-association, which never associates, no iam:PassRole', () => {
      const statements = roleStatements(
        templates.production,
        roleOf(templates.production, FUNCTIONS.trackAssociation),
      );
      expect(JSON.stringify(statements)).not.toContain('iam:');
    });

    it('gives both functions the same list as KEY_ACCESS_ROLE_ARNS', () => {
      for (const fn of Object.values(FUNCTIONS)) {
        expect(list(String(environmentOf(templates.production, fn).KEY_ACCESS_ROLE_ARNS))).toEqual(
          list(PRODUCTION_PARAMS.keyAccessRoleArns),
        );
      }
    });

    it('refuses to package a key-access entry that is not an IAM role ARN', () => {
      expect(badKeyRole.exitCode).not.toBe(0);
      expect(badKeyRole.output).toContain(
        'Invalid param "keyAccessRoleArns": "arn:aws:iam::123456789012:user/someone" is not an IAM role ARN',
      );
    });
  });

  describe('who may send requests', () => {
    it('names nobody by default: no Allow and no deny besides TLS, this account IAM is the only gate', () => {
      expect(queueStatements(templates.minimal, 'RequestsQueue')).toEqual([
        expect.objectContaining({ Sid: 'DenyInsecureTransport', Condition: TLS_ONLY }),
      ]);
    });

    it('with named producers, denies sqs:SendMessage to every principal but them and the operators', () => {
      const producers = list(PRODUCTION_PARAMS.producerPrincipals);
      const operators = list(PRODUCTION_PARAMS.operatorRoleArns);
      const roots = producers.filter((arn) => arn.endsWith(':root'));
      expect(roots.length).toBeGreaterThan(0);
      const denies = queueStatements(templates.production, 'RequestsQueue').filter(
        (statement) =>
          statement.Effect === 'Deny' &&
          statement.Condition !== undefined &&
          !('Bool' in statement.Condition),
      );
      expect(denies).toEqual([
        {
          Sid: 'DenyRequestsFromAnyoneElse',
          Effect: 'Deny',
          Principal: '*',
          Action: 'sqs:SendMessage',
          Resource: getAttArn('RequestsQueue'),
          Condition: {
            ArnNotEquals: {
              // The functions send a rollout's children to this queue themselves.
              'aws:PrincipalArn': [
                getAttArn('AssociatePackageRole'),
                getAttArn('TrackAssociationRole'),
                ...producers.filter((arn) => !roots.includes(arn)),
                ...operators,
              ],
            },
            // No request is made as an account root: naming one spares every principal of that account.
            StringNotEquals: { 'aws:PrincipalAccount': roots.map((root) => root.split(':')[4]) },
          },
        },
      ]);
    });

    it('allows the same principals it spares, so cross-account producers can send', () => {
      const allows = queueStatements(templates.production, 'RequestsQueue').filter(
        (statement) => statement.Effect === 'Allow',
      );
      expect(allows).toEqual([
        expect.objectContaining({
          Action: 'sqs:SendMessage',
          Principal: {
            AWS: [...list(PRODUCTION_PARAMS.producerPrincipals), ...list(PRODUCTION_PARAMS.operatorRoleArns)],
          },
        }),
      ]);
    });
  });

  describe('who may send status checks', () => {
    it.each(['minimal', 'production'] as const)(
      'the tracking queue denies sqs:SendMessage to everyone but the two function roles (%s params)',
      (set) => {
        const template = templates[set];
        const functionRoles = Object.values(FUNCTIONS).map((fn) => getAttArn(roleOf(template, fn)));
        const spared = [
          ...functionRoles,
          ...list(set === 'production' ? PRODUCTION_PARAMS.operatorRoleArns : ''),
        ];
        const denies = queueStatements(template, 'TrackingQueue').filter(
          (statement) => statement.Effect === 'Deny' && statement.Action === 'sqs:SendMessage',
        );
        expect(denies).toEqual([
          {
            Sid: 'DenySendingByAnyoneButTheService',
            Effect: 'Deny',
            Principal: '*',
            Action: 'sqs:SendMessage',
            Resource: getAttArn('TrackingQueue'),
            Condition: { ArnNotEquals: { 'aws:PrincipalArn': spared } },
          },
        ]);
      },
    );
  });

  describe('who may publish the service source', () => {
    it('on the bus it creates, denies PutEvents of the source to all but the two function roles', () => {
      const template = templates.minimal;
      const policies = resourcesOfType(template, 'AWS::Events::EventBusPolicy');
      expect(Object.keys(policies)).toEqual(['EventBusPolicy']);
      const props = propertiesOf(resource(template, 'EventBusPolicy'));
      expect(props.EventBusName).toEqual({ Ref: 'EventBus' });
      expect(props.Statement).toEqual({
        Effect: 'Deny',
        Principal: '*',
        Action: 'events:PutEvents',
        Resource: getAttArn('EventBus'),
        Condition: {
          'ForAnyValue:StringEquals': {
            'events:source': [environmentOf(template, FUNCTIONS.associatePackage).EVENT_SOURCE],
          },
          ArnNotEquals: {
            'aws:PrincipalArn': Object.values(FUNCTIONS).map((fn) => getAttArn(roleOf(template, fn))),
          },
        },
      });
    });

    it('leaves an existing bus policy to the bus owner: no bus and no bus policy of its own', () => {
      expect(Object.keys(resourcesOfType(templates.production, 'AWS::Events::EventBus'))).toEqual([]);
      expect(Object.keys(resourcesOfType(templates.production, 'AWS::Events::EventBusPolicy'))).toEqual([]);
    });
  });

  describe('what outlives the stack', () => {
    it.each([
      'LedgerTable',
      'RequestsDlq',
      'TrackingDlq',
      'AssociatePackageLogGroup',
      'TrackAssociationLogGroup',
    ])('%s is retained on removal and on replacement', (logicalId) => {
      for (const template of Object.values(templates)) {
        expect(resource(template, logicalId)).toMatchObject({
          DeletionPolicy: 'Retain',
          UpdateReplacePolicy: 'Retain',
        });
      }
    });

    it('says what happens to every other stateful resource (cfn-lint I3011): the working queues go with the stack', () => {
      const stateful = ['AWS::SQS::Queue', 'AWS::DynamoDB::Table', 'AWS::Logs::LogGroup'];
      for (const [id, definition] of Object.entries(templates.minimal.Resources)) {
        if (!stateful.includes(definition.Type)) continue;
        expect(definition.DeletionPolicy, id).toBeDefined();
        expect(definition.UpdateReplacePolicy, id).toBe(definition.DeletionPolicy);
      }
      for (const queue of ['RequestsQueue', 'TrackingQueue']) {
        expect(resource(templates.minimal, queue).DeletionPolicy).toBe('Delete');
      }
    });
  });
});
