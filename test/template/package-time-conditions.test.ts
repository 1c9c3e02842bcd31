/**
 * The osls plugin that decides, while packaging, the conditions the params alone decide. These tests run it
 * on small templates; the packaged template's tests check what it leaves in the real one.
 */
import { describe, expect, it } from 'vitest';
import PackageTimeConditionsPlugin from '../../deploy/package-time-conditions.cjs';

const { decideConditions, dropImpliedDependsOn, foldPackageTimeConditions, referencedIds } =
  PackageTimeConditionsPlugin;

const NO_VALUE = { Ref: 'AWS::NoValue' };

describe('decideConditions', () => {
  it('decides comparisons of literals, through Not, And, Or and Condition', () => {
    const decided = decideConditions({
      Empty: { 'Fn::Equals': ['', ''] },
      NotEmpty: { 'Fn::Not': [{ 'Fn::Equals': ['arn:aws:sns:eu-west-1:123456789012:t', ''] }] },
      Both: { 'Fn::And': [{ Condition: 'Empty' }, { Condition: 'NotEmpty' }] },
      Either: { 'Fn::Or': [{ Condition: 'Empty' }, { 'Fn::Equals': ['a', 'b'] }] },
      Numbers: { 'Fn::Equals': [1, '1'] },
    });
    expect(Object.fromEntries(decided)).toEqual({
      Empty: true,
      NotEmpty: true,
      Both: true,
      Either: true,
      Numbers: true,
    });
  });

  it('leaves what CloudFormation knows only at deploy time undecided, unless a literal decides it anyway', () => {
    const decided = decideConditions({
      InRegion: { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] },
      Dependent: { 'Fn::Not': [{ Condition: 'InRegion' }] },
      FalseAnyway: { 'Fn::And': [{ Condition: 'InRegion' }, { 'Fn::Equals': ['a', 'b'] }] },
      Unknown: { Condition: 'Missing' },
      Loop: { Condition: 'Loop' },
    });
    expect(Object.fromEntries(decided)).toEqual({ FalseAnyway: false });
  });
});

describe('foldPackageTimeConditions', () => {
  it('takes the branch of each decided Fn::If, dropping properties and list items that take AWS::NoValue', () => {
    const template = {
      Conditions: { HasTopic: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] } },
      Resources: {
        Alarm: {
          Type: 'AWS::CloudWatch::Alarm',
          Properties: {
            Threshold: 0,
            AlarmActions: { 'Fn::If': ['HasTopic', [''], NO_VALUE] },
            Statements: [
              'kept',
              { 'Fn::If': ['HasTopic', 'dropped', NO_VALUE] },
              { 'Fn::If': ['HasTopic', 1, 2] },
            ],
          },
        },
      },
    };
    expect(foldPackageTimeConditions(template)).toEqual({ decided: { HasTopic: false }, removed: [] });
    expect(template).toEqual({
      Resources: {
        Alarm: { Type: 'AWS::CloudWatch::Alarm', Properties: { Threshold: 0, Statements: ['kept', 2] } },
      },
    });
  });

  it('keeps a resource on a true condition without it and removes one on a false condition', () => {
    const template = {
      Conditions: {
        CreateBus: { 'Fn::Equals': ['', ''] },
        UseExisting: { 'Fn::Not': [{ Condition: 'CreateBus' }] },
      },
      Resources: {
        Bus: { Type: 'AWS::Events::EventBus', Condition: 'CreateBus', Properties: { Name: 'bus' } },
        Mirror: { Type: 'AWS::Events::EventBus', Condition: 'UseExisting', Properties: { Name: 'mirror' } },
        Archive: {
          Type: 'AWS::Events::Archive',
          Properties: {
            SourceArn: { 'Fn::If': ['CreateBus', { 'Fn::GetAtt': ['Bus', 'Arn'] }, 'arn:existing'] },
          },
        },
      },
      Outputs: {
        BusArn: { Value: { 'Fn::If': ['CreateBus', { 'Fn::GetAtt': ['Bus', 'Arn'] }, 'arn:existing'] } },
        MirrorName: { Condition: 'UseExisting', Value: { Ref: 'Mirror' } },
      },
    };
    expect(foldPackageTimeConditions(template).removed).toEqual(['Mirror']);
    expect(template).toEqual({
      Resources: {
        Bus: { Type: 'AWS::Events::EventBus', Properties: { Name: 'bus' } },
        Archive: {
          Type: 'AWS::Events::Archive',
          Properties: { SourceArn: { 'Fn::GetAtt': ['Bus', 'Arn'] } },
        },
      },
      Outputs: { BusArn: { Value: { 'Fn::GetAtt': ['Bus', 'Arn'] } } },
    });
  });

  it('leaves deploy-time conditions, and the decided ones they still name, in place', () => {
    const template = {
      Conditions: {
        Decided: { 'Fn::Equals': ['x', 'x'] },
        InRegion: {
          'Fn::And': [{ Condition: 'Decided' }, { 'Fn::Equals': [{ Ref: 'AWS::Region' }, 'eu-west-1'] }],
        },
      },
      Resources: {
        Queue: { Type: 'AWS::SQS::Queue', Condition: 'InRegion', Properties: {} },
      },
    };
    foldPackageTimeConditions(template);
    expect(Object.keys(template.Conditions)).toEqual(['Decided', 'InRegion']);
    expect(template.Resources.Queue.Condition).toBe('InRegion');
  });

  it('leaves an IAM statement Condition alone (it is not a template condition)', () => {
    const statement = {
      Effect: 'Allow',
      Action: 'iam:PassRole',
      Resource: 'arn:aws:iam::123456789012:role/key-access',
      Condition: { StringEquals: { 'iam:PassedToService': 'es.amazonaws.com' } },
    };
    const template = {
      Resources: { Role: { Type: 'AWS::IAM::Role', Properties: { Statement: [statement] } } },
    };
    foldPackageTimeConditions(template);
    expect(template.Resources.Role.Properties.Statement).toEqual([statement]);
  });

  it.each([
    ['Ref', { Ref: 'Bus' }],
    ['Fn::GetAtt', { 'Fn::GetAtt': ['Bus', 'Arn'] }],
    ['Fn::Sub', { 'Fn::Sub': `bus \${Bus.Arn} in \${AWS::Region}` }],
  ])('refuses to leave a %s to a removed resource', (_kind, reference) => {
    const template = {
      Conditions: { CreateBus: { 'Fn::Equals': ['arn:existing', ''] } },
      Resources: {
        Bus: { Type: 'AWS::Events::EventBus', Condition: 'CreateBus', Properties: {} },
        Policy: { Type: 'AWS::Events::EventBusPolicy', Properties: { EventBusName: reference } },
      },
    };
    expect(() => foldPackageTimeConditions(template)).toThrow('Resources.Policy -> Bus');
  });

  it('refuses to leave a DependsOn on a removed resource', () => {
    const template = {
      Conditions: { CreateBus: { 'Fn::Equals': ['arn:existing', ''] } },
      Resources: {
        Bus: { Type: 'AWS::Events::EventBus', Condition: 'CreateBus', Properties: {} },
        Queue: { Type: 'AWS::SQS::Queue', DependsOn: ['Bus'], Properties: {} },
      },
    };
    expect(() => foldPackageTimeConditions(template)).toThrow('Resources.Queue -> Bus');
  });
});

describe('referencedIds', () => {
  it('reads Ref, both Fn::GetAtt forms and Fn::Sub, without pseudo parameters, escapes or Sub variables', () => {
    const ids = referencedIds({
      a: { Ref: 'Queue' },
      b: { Ref: 'AWS::AccountId' },
      c: { 'Fn::GetAtt': ['Role', 'Arn'] },
      d: { 'Fn::GetAtt': 'Table.Arn' },
      e: { 'Fn::Sub': `\${Function} \${Dlq.QueueName} \${AWS::Region} \${!Literal}` },
      f: { 'Fn::Sub': [`\${local} \${Topic}`, { local: { Ref: 'Bus' } }] },
    });
    expect([...ids].sort()).toEqual(['Bus', 'Dlq', 'Function', 'Queue', 'Role', 'Table', 'Topic']);
  });
});

describe('dropImpliedDependsOn', () => {
  it('drops a dependency the properties already name and keeps the others', () => {
    const template = {
      Resources: {
        Fn: {
          Type: 'AWS::Lambda::Function',
          DependsOn: ['FnLogGroup', 'FnRole'],
          Properties: { Role: { 'Fn::GetAtt': ['FnRole', 'Arn'] } },
        },
        Mapping: {
          Type: 'AWS::Lambda::EventSourceMapping',
          DependsOn: ['FnRole'],
          Properties: { FunctionName: { 'Fn::GetAtt': ['Fn', 'Arn'] } },
        },
        Policy: {
          Type: 'AWS::SQS::QueuePolicy',
          DependsOn: 'Queue',
          Properties: { Queues: [{ Ref: 'Queue' }] },
        },
      },
    };
    expect(dropImpliedDependsOn(template)).toEqual(['Fn -> FnRole', 'Policy -> Queue']);
    expect(template.Resources.Fn.DependsOn).toEqual(['FnLogGroup']);
    expect(template.Resources.Mapping.DependsOn).toEqual(['FnRole']);
    expect(template.Resources.Policy).not.toHaveProperty('DependsOn');
  });
});

describe('the plugin', () => {
  it('folds the compiled template just before osls writes it', () => {
    const compiledCloudFormationTemplate = {
      Conditions: { HasTopic: { 'Fn::Not': [{ 'Fn::Equals': ['', ''] }] } },
      Resources: {
        Alarm: {
          Type: 'AWS::CloudWatch::Alarm',
          DependsOn: ['Queue'],
          Properties: { Dimensions: [{ Value: { 'Fn::GetAtt': ['Queue', 'QueueName'] } }] },
        },
      },
    };
    const messages: string[] = [];
    const plugin = new PackageTimeConditionsPlugin(
      { service: { provider: { compiledCloudFormationTemplate } } },
      {},
      { log: { info: (message) => messages.push(message) } },
    );
    expect(Object.keys(plugin.hooks)).toEqual(['before:aws:package:finalize:saveServiceState']);
    plugin.hooks['before:aws:package:finalize:saveServiceState']?.();
    expect(compiledCloudFormationTemplate).not.toHaveProperty('Conditions');
    expect(compiledCloudFormationTemplate.Resources.Alarm).not.toHaveProperty('DependsOn');
    expect(messages.join('\n')).toContain('{"HasTopic":false}');
  });
});
