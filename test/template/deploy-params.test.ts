import { describe, expect, it } from 'vitest';
import {
  denyAllButCondition,
  hasKeyAccessRoles,
  hasNamedProducers,
  keyAccessRoleArns,
  opensearchDomainArn,
  parseKeyAccessRoleArns,
  parseOperatorRoleArns,
  parseProducerPrincipals,
  requestSenders,
  requestSendersDenyCondition,
  trackingQueueSenders,
} from '../../deploy/iam.cjs';
import { durationThresholdMs } from '../../deploy/observability.cjs';
import {
  alarmThresholds,
  InvalidParameterError,
  parseAllowedDomains,
  parseAttempts,
  parseInteger,
  settings,
} from '../../deploy/params.cjs';

/**
 * osls's resolveVariable for `param:<name>` and `param:<name>, '<fallback>'` (what the helpers ask for so a
 * param that is not set reads as empty), and `self:<path>` from a small configuration.
 */
const resolverOf =
  (params: Record<string, string>, self: Record<string, unknown> = {}) =>
  async (variable: string): Promise<unknown> => {
    const self_ = /^self:(.+)$/.exec(variable);
    if (self_) {
      return (self_[1] ?? '').split('.').reduce<unknown>((node, key) => {
        return typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[key] : undefined;
      }, self);
    }
    const match = /^param:(\w+)(?:, '([^']*)')?$/.exec(variable);
    if (!match) throw new Error(`unexpected variable ${variable}`);
    const [, name = '', fallback] = match;
    if (name in params) return params[name];
    // osls: a param that is not set fails resolution unless the variable has a fallback.
    if (fallback === undefined) throw new Error(`Value not found at "param" source for ${name}`);
    return fallback;
  };

const ALARM_DEFAULTS = {
  lambdaErrorsAlarmThreshold: '0',
  lambdaThrottlesAlarmThreshold: '0',
  lambdaDurationAlarmPercent: '80',
  requestsQueueMaxAgeSeconds: '900',
  trackingQueueMaxAgeSeconds: '900',
  deadLettersAlarmThreshold: '0',
  failedDecisionsAlarmThreshold: '0',
  anyFailedDecisionsAlarmThreshold: '10',
};

const SETTINGS_PARAMS = {
  allowedDomains: 'catalog-search,orders-*',
  maxAttempts: '8',
  maxReceiveCount: '10',
  retryBudgetSeconds: '3600',
  idempotencyTtlSeconds: '86400',
  trackingDeadlineSeconds: '1800',
  pluginTrackingDeadlineSeconds: '21600',
  logRetentionInDays: '30',
  existingEventBusArn: '',
  alarmTopicArn: '',
  ...ALARM_DEFAULTS,
};

describe('parseAllowedDomains', () => {
  it('keeps exact names, prefix patterns and `*`, trimmed and without duplicates', () => {
    expect(parseAllowedDomains(' catalog-search , orders-*,*,catalog-search,')).toEqual([
      'catalog-search',
      'orders-*',
      '*',
    ]);
  });

  it.each([
    ['', 'is required and has no default: pass --param="allowedDomains='],
    ['Orders', 'neither a domain name'],
    ['ab', 'neither a domain name'],
    ['a'.repeat(29), 'neither a domain name'],
    ['orders-*-eu', 'neither a domain name'],
    ['*orders', 'neither a domain name'],
    ['1orders', 'neither a domain name'],
  ])('rejects %j', (raw, reason) => {
    expect(() => parseAllowedDomains(raw)).toThrow(InvalidParameterError);
    expect(() => parseAllowedDomains(raw)).toThrow(reason);
  });
});

describe('parseInteger', () => {
  it('accepts a number or its text within the bounds', () => {
    expect(parseInteger('maxAttempts', '8', 5, 1000)).toBe(8);
    expect(parseInteger('maxAttempts', 1000, 5, 1000)).toBe(1000);
  });

  it.each(['4', '1001', '8.5', '-8', 'eight', ''])('rejects %j', (raw) => {
    expect(() => parseInteger('maxAttempts', raw, 5, 1000)).toThrow('Invalid param "maxAttempts"');
  });
});

describe('settings', () => {
  it('resolves every param through osls and validates it', async () => {
    const resolved = await settings({
      resolveVariable: resolverOf({
        ...SETTINGS_PARAMS,
        alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alarms',
        existingEventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/shared',
        lambdaDurationAlarmPercent: '75',
      }),
    });
    expect(resolved).toEqual({
      allowedDomains: ['catalog-search', 'orders-*'],
      maxAttempts: 8,
      maxReceiveCount: 10,
      retryBudgetSeconds: 3600,
      idempotencyTtlSeconds: 86400,
      trackingDeadlineSeconds: 1800,
      pluginTrackingDeadlineSeconds: 21_600,
      logRetentionInDays: 30,
      existingEventBusArn: 'arn:aws:events:eu-west-1:123456789012:event-bus/shared',
      alarmTopicArn: 'arn:aws:sns:eu-west-1:123456789012:alarms',
      lambdaErrorsAlarmThreshold: 0,
      lambdaThrottlesAlarmThreshold: 0,
      lambdaDurationAlarmPercent: 75,
      requestsQueueMaxAgeSeconds: 900,
      trackingQueueMaxAgeSeconds: 900,
      deadLettersAlarmThreshold: 0,
      failedDecisionsAlarmThreshold: 0,
      anyFailedDecisionsAlarmThreshold: 10,
    });
  });

  it('names the param that breaks the contract (fewer than 5 attempts)', async () => {
    const resolveVariable = resolverOf({ ...SETTINGS_PARAMS, maxAttempts: '3' });
    await expect(settings({ resolveVariable })).rejects.toThrow('Invalid param "maxAttempts"');
  });

  it('names allowedDomains when it is not set at all (it has no default)', async () => {
    const { allowedDomains: _, ...withoutAllowList } = SETTINGS_PARAMS;
    await expect(settings({ resolveVariable: resolverOf(withoutAllowList) })).rejects.toThrow(
      'Invalid param "allowedDomains": is required and has no default',
    );
  });

  it.each([
    ['alarmTopicArn', 'arn:aws:sqs:eu-west-1:123456789012:alarms'],
    ['alarmTopicArn', ' '],
    ['existingEventBusArn', 'shared'],
    ['existingEventBusArn', 'arn:aws:events:eu-west-1:123456789012:rule/shared'],
  ])('rejects %s %j', async (name, value) => {
    const resolveVariable = resolverOf({ ...SETTINGS_PARAMS, [name]: value });
    await expect(settings({ resolveVariable })).rejects.toThrow(`Invalid param "${name}"`);
  });
});

describe('alarmThresholds', () => {
  it('reads every threshold as an integer', async () => {
    const thresholds = await alarmThresholds({
      resolveVariable: resolverOf({ ...ALARM_DEFAULTS, trackingQueueMaxAgeSeconds: '1200' }),
    });
    expect(thresholds.trackingQueueMaxAgeSeconds).toBe(1200);
    expect(thresholds.anyFailedDecisionsAlarmThreshold).toBe(10);
  });

  it('does not depend on the other params, so an alarm reports only its own mistakes', async () => {
    await expect(alarmThresholds({ resolveVariable: resolverOf(ALARM_DEFAULTS) })).resolves.toMatchObject({
      lambdaDurationAlarmPercent: 80,
    });
  });

  it.each([
    ['lambdaDurationAlarmPercent', '0'],
    ['lambdaDurationAlarmPercent', '101'],
    ['lambdaErrorsAlarmThreshold', '-1'],
    ['requestsQueueMaxAgeSeconds', '30'],
    ['deadLettersAlarmThreshold', 'zero'],
  ])('rejects %s %j', async (name, value) => {
    const resolveVariable = resolverOf({ ...ALARM_DEFAULTS, [name]: value });
    await expect(alarmThresholds({ resolveVariable })).rejects.toThrow(`Invalid param "${name}"`);
  });

  it('names a threshold that is not set at all', async () => {
    const { failedDecisionsAlarmThreshold: _, ...rest } = ALARM_DEFAULTS;
    await expect(alarmThresholds({ resolveVariable: resolverOf(rest) })).rejects.toThrow(
      'Invalid param "failedDecisionsAlarmThreshold"',
    );
  });
});

describe('durationThresholdMs', () => {
  it("is lambdaDurationAlarmPercent of each function's timeout, in milliseconds", async () => {
    const resolveVariable = resolverOf(
      { ...ALARM_DEFAULTS, lambdaDurationAlarmPercent: '75' },
      { functions: { associatePackage: { timeout: 30 }, trackAssociation: { timeout: 12 } } },
    );
    expect(await durationThresholdMs({ resolveVariable })).toEqual({
      associatePackage: 22_500,
      trackAssociation: 9_000,
    });
  });

  it('refuses a function without a numeric timeout', async () => {
    const resolveVariable = resolverOf(ALARM_DEFAULTS, { functions: { associatePackage: {} } });
    await expect(durationThresholdMs({ resolveVariable })).rejects.toThrow(
      'functions.associatePackage.timeout must be a positive integer',
    );
  });
});

describe('parseAttempts', () => {
  it('leaves the queue room above the handler: maxReceiveCount must exceed maxAttempts', () => {
    expect(parseAttempts('40', '50')).toEqual({ maxAttempts: 40, maxReceiveCount: 50 });
    expect(() => parseAttempts('40', '40')).toThrow(
      'Invalid param "maxReceiveCount": 40 must be larger than maxAttempts (40)',
    );
  });
});

describe('opensearchDomainArn', () => {
  it('maps a name or a prefix pattern to the domain ARN IAM matches', () => {
    expect(opensearchDomainArn('orders-*')).toEqual({
      'Fn::Sub': `arn:\${AWS::Partition}:es:\${AWS::Region}:\${AWS::AccountId}:domain/orders-*`,
    });
    expect(opensearchDomainArn('*')).toEqual({
      'Fn::Sub': `arn:\${AWS::Partition}:es:\${AWS::Region}:\${AWS::AccountId}:domain/*`,
    });
  });
});

describe('parseProducerPrincipals', () => {
  it('keeps account roots, roles and users, trimmed and without duplicates, pseudo parameters included', () => {
    expect(
      parseProducerPrincipals(
        `arn:aws:iam::123456789012:role/team/producer, arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root,arn:aws:iam::123456789012:role/team/producer`,
      ),
    ).toEqual([
      'arn:aws:iam::123456789012:role/team/producer',
      `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root`,
    ]);
  });

  it('allows naming nobody (then this account IAM is the only gate)', () => {
    expect(parseProducerPrincipals('')).toEqual([]);
    expect(parseProducerPrincipals(' , ')).toEqual([]);
  });

  it.each(['*', '123456789012', 'arn:aws:iam::123456789012:group/producers', 'arn:aws:sqs:::queue'])(
    'rejects %j',
    (raw) => {
      expect(() => parseProducerPrincipals(raw)).toThrow('Invalid param "producerPrincipals"');
    },
  );
});

describe('parseKeyAccessRoleArns', () => {
  it('keeps role ARNs, with paths', () => {
    expect(
      parseKeyAccessRoleArns('arn:aws:iam::123456789012:role/key-access, arn:aws:iam::123456789012:role/a/b'),
    ).toEqual(['arn:aws:iam::123456789012:role/key-access', 'arn:aws:iam::123456789012:role/a/b']);
    expect(parseKeyAccessRoleArns('')).toEqual([]);
  });

  it.each([
    '*',
    'arn:aws:iam::123456789012:role/*',
    'arn:aws:iam::123456789012:user/someone',
    'arn:aws:iam::123456789012:root',
    'arn:aws:iam::12345:role/short-account',
    'arn:aws:sts::123456789012:assumed-role/key-access/session',
    // Written out: the param's own text is what the functions get in KEY_ACCESS_ROLE_ARNS.
    `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/key-access`,
  ])('rejects %j, which is not an IAM role ARN', (raw) => {
    expect(() => parseKeyAccessRoleArns(raw)).toThrow('Invalid param "keyAccessRoleArns"');
  });
});

describe('parseOperatorRoleArns', () => {
  it('keeps role ARNs, pseudo parameters included, and nothing else', () => {
    expect(parseOperatorRoleArns(`arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/ops`)).toEqual([
      `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:role/ops`,
    ]);
    expect(() => parseOperatorRoleArns('arn:aws:iam::123456789012:root')).toThrow(
      'Invalid param "operatorRoleArns"',
    );
  });
});

describe('denyAllButCondition', () => {
  it('spares roles and users by aws:PrincipalArn and an account root by aws:PrincipalAccount', () => {
    expect(
      denyAllButCondition([
        'arn:aws:iam::123456789012:role/producer',
        'arn:aws:iam::210987654321:root',
        `arn:aws:iam::\${AWS::AccountId}:user/ci`,
        `arn:\${AWS::Partition}:iam::\${AWS::AccountId}:root`,
      ]),
    ).toEqual({
      ArnNotEquals: {
        'aws:PrincipalArn': [
          'arn:aws:iam::123456789012:role/producer',
          { 'Fn::Sub': `arn:aws:iam::\${AWS::AccountId}:user/ci` },
        ],
      },
      StringNotEquals: { 'aws:PrincipalAccount': ['210987654321', { Ref: 'AWS::AccountId' }] },
    });
  });

  it('uses only the key it needs', () => {
    expect(denyAllButCondition(['arn:aws:iam::123456789012:role/producer'])).toEqual({
      ArnNotEquals: { 'aws:PrincipalArn': ['arn:aws:iam::123456789012:role/producer'] },
    });
    expect(denyAllButCondition(['arn:aws:iam::210987654321:root'])).toEqual({
      StringNotEquals: { 'aws:PrincipalAccount': ['210987654321'] },
    });
  });
});

describe('the IAM exports osls resolves', () => {
  const PRODUCER = 'arn:aws:iam::123456789012:role/producer';
  const OPERATOR = 'arn:aws:iam::123456789012:role/operator';
  const KEY_ROLE = 'arn:aws:iam::123456789012:role/key-access';

  it('name nobody when the params are not set at all', async () => {
    const context = { resolveVariable: resolverOf({}) };
    expect(await hasNamedProducers(context)).toBe('false');
    expect(await hasKeyAccessRoles(context)).toBe('false');
    expect(await keyAccessRoleArns(context)).toEqual([]);
    expect(await trackingQueueSenders(context)).toEqual([
      { 'Fn::GetAtt': ['AssociatePackageRole', 'Arn'] },
      { 'Fn::GetAtt': ['TrackAssociationRole', 'Arn'] },
    ]);
  });

  it('let the operators send where the producers may, and to the tracking queue', async () => {
    const context = {
      resolveVariable: resolverOf({
        producerPrincipals: PRODUCER,
        operatorRoleArns: OPERATOR,
        keyAccessRoleArns: KEY_ROLE,
      }),
    };
    expect(await hasNamedProducers(context)).toBe('true');
    expect(await hasKeyAccessRoles(context)).toBe('true');
    expect(await keyAccessRoleArns(context)).toEqual([KEY_ROLE]);
    expect(await requestSenders(context)).toEqual([PRODUCER, OPERATOR]);
    expect(await requestSendersDenyCondition(context)).toEqual({
      ArnNotEquals: {
        'aws:PrincipalArn': [
          { 'Fn::GetAtt': ['AssociatePackageRole', 'Arn'] },
          { 'Fn::GetAtt': ['TrackAssociationRole', 'Arn'] },
          PRODUCER,
          OPERATOR,
        ],
      },
    });
    expect((await trackingQueueSenders(context)).at(-1)).toBe(OPERATOR);
  });
});
