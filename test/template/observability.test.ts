/**
 * Alarms and the dashboard of the packaged template: one alarm per thing an operator must act on, each on
 * the metric the code or AWS publishes, with its threshold from the params, and a dashboard that shows the
 * resources this stack created.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALARMS } from '../../deploy/observability.cjs';
import {
  type CfnResource,
  type CloudFormationTemplate,
  loadTemplate,
  MINIMAL_PARAMS,
  PACKAGING_HOOK_TIMEOUT_MS,
  type PackageRun,
  PRODUCTION_PARAMS,
  resource,
  resourcesOfType,
  runPackage,
} from './load-template.ts';

/** Every threshold param, set to values unlike their defaults and unlike each other. */
const THRESHOLDS = {
  lambdaErrorsAlarmThreshold: '3',
  lambdaThrottlesAlarmThreshold: '4',
  lambdaDurationAlarmPercent: '50',
  requestsQueueMaxAgeSeconds: '300',
  trackingQueueMaxAgeSeconds: '1200',
  deadLettersAlarmThreshold: '2',
  failedDecisionsAlarmThreshold: '1',
  anyFailedDecisionsAlarmThreshold: '7',
};

const FUNCTIONS = {
  AssociatePackage: 'AssociatePackageLambdaFunction',
  TrackAssociation: 'TrackAssociationLambdaFunction',
} as const;
const IMPORTANT_REASONS = ['AssociationFailed', 'TimedOut', 'AssociationLost', 'RetriesExhausted'];

type Alarm = Record<string, unknown> & { Dimensions?: Array<{ Name: string; Value: unknown }> };

function propertiesOf(definition: CfnResource): Record<string, unknown> {
  return definition.Properties ?? {};
}

function alarmsOf(template: CloudFormationTemplate): Record<string, Alarm> {
  return Object.fromEntries(
    Object.entries(resourcesOfType(template, 'AWS::CloudWatch::Alarm')).map(([id, alarm]) => [
      id,
      propertiesOf(alarm) as Alarm,
    ]),
  );
}

/** The one alarm on this metric with exactly these dimensions. */
function alarmOn(
  template: CloudFormationTemplate,
  namespace: string,
  metricName: string,
  dimensions: Array<{ Name: string; Value: unknown }>,
): Alarm {
  const found = Object.values(alarmsOf(template)).filter(
    (alarm) =>
      alarm.Namespace === namespace &&
      alarm.MetricName === metricName &&
      JSON.stringify(alarm.Dimensions) === JSON.stringify(dimensions),
  );
  expect(found, `alarm on ${namespace} ${metricName} ${JSON.stringify(dimensions)}`).toHaveLength(1);
  return found[0] as Alarm;
}

function environmentOf(template: CloudFormationTemplate): Record<string, unknown> {
  return (
    propertiesOf(resource(template, FUNCTIONS.AssociatePackage)).Environment as {
      Variables: Record<string, unknown>;
    }
  ).Variables;
}

function timeoutMsOf(template: CloudFormationTemplate, functionLogicalId: string): number {
  return Number(propertiesOf(resource(template, functionLogicalId)).Timeout) * 1000;
}

const queueDimension = (queue: string) => [
  { Name: 'QueueName', Value: { 'Fn::GetAtt': [queue, 'QueueName'] } },
];
const functionDimension = (fn: string) => [{ Name: 'FunctionName', Value: { Ref: fn } }];

/** The dashboard body as JSON, with each `${...}` CloudFormation substitutes kept as the text `<...>`. */
interface Widget {
  type: string;
  properties: { title: string; metrics?: unknown; annotations?: { horizontal?: unknown } };
}

function dashboardOf(template: CloudFormationTemplate): { body: { widgets: Widget[] }; refs: string[] } {
  const dashboards = Object.values(resourcesOfType(template, 'AWS::CloudWatch::Dashboard'));
  expect(dashboards).toHaveLength(1);
  const sub = (propertiesOf(dashboards[0] as CfnResource).DashboardBody as { 'Fn::Sub': string })['Fn::Sub'];
  expect(typeof sub).toBe('string');
  const refs = [...sub.matchAll(/\$\{([^}]+)\}/g)].map((match) => match[1] ?? '');
  return { body: JSON.parse(sub.replace(/\$\{([^}]+)\}/g, '<$1>')), refs };
}

describe('packaged template: alarms and dashboard', () => {
  let template: CloudFormationTemplate;
  let production: CloudFormationTemplate;
  let tuned: CloudFormationTemplate;
  let badThreshold: PackageRun;

  beforeAll(async () => {
    [template, production, tuned, badThreshold] = await Promise.all([
      loadTemplate({ params: MINIMAL_PARAMS }),
      loadTemplate({ params: PRODUCTION_PARAMS }),
      loadTemplate({ params: { ...MINIMAL_PARAMS, ...THRESHOLDS } }),
      runPackage({ params: { ...MINIMAL_PARAMS, lambdaDurationAlarmPercent: '120' } }),
    ]);
  }, PACKAGING_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    if (badThreshold) await rm(badThreshold.workDir, { recursive: true, force: true });
  });

  it('declares exactly the alarms the dashboard and the README list', () => {
    expect(Object.keys(alarmsOf(template)).sort()).toEqual([...ALARMS].sort());
  });

  describe.each(Object.entries(FUNCTIONS))('%s', (prefix, fn) => {
    it.each([
      ['Errors', 'lambdaErrorsAlarmThreshold'],
      ['Throttles', 'lambdaThrottlesAlarmThreshold'],
    ] as const)('alarms on Lambda %s above %s, summed over 5 minutes', (metricName, param) => {
      const alarm = alarmOn(template, 'AWS/Lambda', metricName, functionDimension(fn));
      expect(alarm).toMatchObject({
        Statistic: 'Sum',
        Period: 300,
        ComparisonOperator: 'GreaterThanThreshold',
      });
      expect(alarm.Threshold).toBe(0);
      expect(alarmOn(tuned, 'AWS/Lambda', metricName, functionDimension(fn)).Threshold).toBe(
        Number(THRESHOLDS[param]),
      );
      expect(alarmsOf(template)[`${prefix}${metricName}Alarm`]).toBe(alarm);
    });

    it('alarms when p99 Duration passes lambdaDurationAlarmPercent of the function timeout', () => {
      const alarm = alarmOn(template, 'AWS/Lambda', 'Duration', functionDimension(fn));
      expect(alarm).toMatchObject({ ExtendedStatistic: 'p99', Period: 300 });
      expect(alarm).not.toHaveProperty('Statistic');
      expect(alarm.Threshold).toBe(0.8 * timeoutMsOf(template, fn));
      expect(alarmOn(tuned, 'AWS/Lambda', 'Duration', functionDimension(fn)).Threshold).toBe(
        0.5 * timeoutMsOf(tuned, fn),
      );
    });
  });

  it.each([
    ['RequestsQueue', 'requestsQueueMaxAgeSeconds', 900],
    ['TrackingQueue', 'trackingQueueMaxAgeSeconds', 900],
  ] as const)('alarms when the oldest message of %s is older than %s', (queue, param, byDefault) => {
    const metric = ['AWS/SQS', 'ApproximateAgeOfOldestMessage', queueDimension(queue)] as const;
    expect(alarmOn(template, ...metric)).toMatchObject({ Statistic: 'Maximum', Threshold: byDefault });
    expect(alarmOn(tuned, ...metric).Threshold).toBe(Number(THRESHOLDS[param]));
  });

  it.each(['RequestsDlq', 'TrackingDlq'])(
    'alarms on each minute with new dead letters in %s (NumberOfMessagesSent, not the depth)',
    (queue) => {
      const alarm = alarmOn(template, 'AWS/SQS', 'NumberOfMessagesSent', queueDimension(queue));
      // A period with none sends it back to OK, so the next dead letter notifies again.
      expect(alarm).toMatchObject({
        Statistic: 'Sum',
        Period: 60,
        EvaluationPeriods: 1,
        Threshold: 0,
        TreatMissingData: 'notBreaching',
      });
      expect(alarmOn(tuned, 'AWS/SQS', 'NumberOfMessagesSent', queueDimension(queue)).Threshold).toBe(
        Number(THRESHOLDS.deadLettersAlarmThreshold),
      );
      // The depth alarm stays as the catch-all for what SQS redrives itself (not counted as sent).
      expect(
        alarmOn(template, 'AWS/SQS', 'ApproximateNumberOfMessagesVisible', queueDimension(queue)).Threshold,
      ).toBe(0);
    },
  );

  describe('Failed decisions', () => {
    it.each(IMPORTANT_REASONS)(
      'alarm on their own for reason %s, on the EMF metric the functions publish',
      (reason) => {
        const environment = environmentOf(template);
        const dimensions = [
          { Name: 'service', Value: environment.POWERTOOLS_SERVICE_NAME },
          { Name: 'reason', Value: reason },
        ];
        const namespace = String(environment.POWERTOOLS_METRICS_NAMESPACE);
        expect(namespace).toBe('PackageAssociator');
        expect(environment.POWERTOOLS_SERVICE_NAME).toBe('package-associator');
        const alarm = alarmOn(template, namespace, 'AssociationFailed', dimensions);
        expect(alarm).toMatchObject({ Statistic: 'Sum', Period: 300, Threshold: 0 });
        expect(alarmOn(tuned, namespace, 'AssociationFailed', dimensions).Threshold).toBe(
          Number(THRESHOLDS.failedDecisionsAlarmThreshold),
        );
      },
    );

    it('alarm together, any reason, through a Metrics Insights query over every reason', () => {
      const alarm = alarmsOf(template).FailedDecisionsAnyReasonAlarm as Alarm;
      expect(alarm.Metrics).toEqual([
        {
          Id: 'failed',
          Label: 'Failed decisions, every reason',
          Expression:
            "SELECT SUM(AssociationFailed) FROM SCHEMA(PackageAssociator, reason, service) WHERE service = 'package-associator'",
          Period: 300,
          ReturnData: true,
        },
      ]);
      expect(alarm.Threshold).toBe(10);
      expect((alarmsOf(tuned).FailedDecisionsAnyReasonAlarm as Alarm).Threshold).toBe(
        Number(THRESHOLDS.anyFailedDecisionsAlarmThreshold),
      );
    });
  });

  it('treats missing data as fine everywhere: an idle service is not in alarm', () => {
    for (const [id, alarm] of Object.entries(alarmsOf(template))) {
      expect(alarm.TreatMissingData, id).toBe('notBreaching');
      expect(alarm.ComparisonOperator, id).toBe('GreaterThanThreshold');
    }
  });

  it('notifies alarmTopicArn on every alarm when set, as a plain list', () => {
    for (const [id, alarm] of Object.entries(alarmsOf(production))) {
      expect(alarm.AlarmActions, id).toEqual([PRODUCTION_PARAMS.alarmTopicArn]);
      expect(alarm.OKActions, id).toEqual([PRODUCTION_PARAMS.alarmTopicArn]);
    }
  });

  it('refuses to package a threshold outside its range, naming the param', () => {
    expect(badThreshold.exitCode).not.toBe(0);
    expect(badThreshold.output).toContain(
      'Invalid param "lambdaDurationAlarmPercent": "120" is not an integer',
    );
  });

  describe('the dashboard', () => {
    it('refers only to what the stack creates, and to every queue, function and alarm', () => {
      const { refs } = dashboardOf(template);
      for (const ref of refs) {
        const [id = '', attribute] = ref.split('.');
        if (id.startsWith('AWS::')) continue;
        expect(template.Resources[id], ref).toBeDefined();
        expect([undefined, 'QueueName', 'Arn'], ref).toContain(attribute);
      }
      expect(refs).toEqual(
        expect.arrayContaining([
          ...['RequestsQueue', 'TrackingQueue', 'RequestsDlq', 'TrackingDlq'].map(
            (queue) => `${queue}.QueueName`,
          ),
          ...Object.values(FUNCTIONS),
          ...ALARMS.map((alarm) => `${alarm}.Arn`),
          'AWS::Region',
        ]),
      );
    });

    it('shows requests, decisions by outcome and by reason, queue depths and ages, Lambda errors and durations', () => {
      const { body } = dashboardOf(template);
      const titles = body.widgets.map((widget) => widget.properties.title);
      expect(titles).toEqual([
        'Requests',
        'Decisions by outcome',
        'Failed decisions by reason',
        'Queue depth (visible / in flight)',
        'Oldest message age (s)',
        'Dead letters sent',
        'Lambda errors and throttles',
        'Lambda duration (ms)',
        'Lambda invocations and concurrency',
        'Alarms',
      ]);
      const metricsOf = (title: string) =>
        JSON.stringify(body.widgets.find((widget) => widget.properties.title === title)?.properties.metrics);
      expect(metricsOf('Requests')).toContain(
        '"NumberOfMessagesSent","QueueName","<RequestsQueue.QueueName>"',
      );
      expect(metricsOf('Decisions by outcome')).toContain(
        '"PackageAssociator","AssociationSucceeded","service","package-associator"',
      );
      expect(metricsOf('Failed decisions by reason')).toContain(
        'SEARCH(\'{PackageAssociator,reason,service} MetricName=\\"AssociationFailed\\" service=\\"package-associator\\"\'',
      );
      expect(metricsOf('Oldest message age (s)')).toContain(
        '"ApproximateAgeOfOldestMessage","QueueName","<TrackingQueue.QueueName>"',
      );
      expect(metricsOf('Lambda errors and throttles')).toContain(
        '"Errors","FunctionName","<TrackAssociationLambdaFunction>"',
      );
      expect(metricsOf('Lambda duration (ms)')).toContain(
        '"Duration","FunctionName","<AssociatePackageLambdaFunction>"',
      );
    });

    it('marks the alarm thresholds on the age and duration graphs', () => {
      const { body } = dashboardOf(tuned);
      const annotations = (title: string) =>
        body.widgets.find((widget) => widget.properties.title === title)?.properties.annotations?.horizontal;
      expect(annotations('Oldest message age (s)')).toEqual([
        { label: 'requests alarm', value: 300 },
        { label: 'tracking alarm', value: 1200 },
      ]);
      expect(annotations('Lambda duration (ms)')).toEqual([
        { label: 'associate-package alarm', value: 0.5 * timeoutMsOf(tuned, FUNCTIONS.AssociatePackage) },
        { label: 'track-association alarm', value: 0.5 * timeoutMsOf(tuned, FUNCTIONS.TrackAssociation) },
      ]);
    });
  });
});
