'use strict';

// Alarm thresholds derived from more than one setting, and the CloudWatch dashboard, resolved by osls through
// `${file(./deploy/observability.cjs):<export>}` (see params.cjs for how osls calls these exports).

const { alarmThresholds } = require('./params.cjs');

/** The functions, by their name under `functions:` and the logical id osls gives them. */
const FUNCTIONS = {
  associatePackage: { logicalId: 'AssociatePackageLambdaFunction', title: 'associate-package' },
  trackAssociation: { logicalId: 'TrackAssociationLambdaFunction', title: 'track-association' },
};

/** The queues, by logical id. */
const QUEUES = {
  RequestsQueue: 'requests',
  TrackingQueue: 'tracking',
  RequestsDlq: 'requests DLQ',
  TrackingDlq: 'tracking DLQ',
};

/** Every alarm serverless.yml declares; the dashboard shows their states (a template test keeps this in step). */
const ALARMS = [
  'RequestsDlqNewDeadLettersAlarm',
  'TrackingDlqNewDeadLettersAlarm',
  'RequestsDlqDepthAlarm',
  'TrackingDlqDepthAlarm',
  'RequestsQueueOldestMessageAlarm',
  'TrackingQueueOldestMessageAlarm',
  'AssociatePackageErrorsAlarm',
  'TrackAssociationErrorsAlarm',
  'AssociatePackageThrottlesAlarm',
  'TrackAssociationThrottlesAlarm',
  'AssociatePackageDurationAlarm',
  'TrackAssociationDurationAlarm',
  'FailedDecisionsAssociationFailedAlarm',
  'FailedDecisionsTimedOutAlarm',
  'FailedDecisionsAssociationLostAlarm',
  'FailedDecisionsRetriesExhaustedAlarm',
  'FailedDecisionsAnyReasonAlarm',
];

/** @typedef {{ resolveVariable: (variable: string) => Promise<unknown> }} Context */

/**
 * @param {Context} context
 * @param {string} functionName
 */
async function timeoutSecondsOf({ resolveVariable }, functionName) {
  const timeout = Number(await resolveVariable(`self:functions.${functionName}.timeout`));
  if (!Number.isInteger(timeout) || timeout <= 0) {
    throw new Error(
      `functions.${functionName}.timeout must be a positive integer to derive its duration alarm`,
    );
  }
  return timeout;
}

/**
 * Per function: the p99 duration (ms) above which its duration alarm fires, lambdaDurationAlarmPercent of
 * its timeout. A batch that runs this close to the timeout is one slow AWS call away from being cut off.
 * @param {Context} context
 * @returns {Promise<Record<string, number>>}
 */
async function durationThresholdMs(context) {
  const { lambdaDurationAlarmPercent } = await alarmThresholds(context);
  const thresholds = {};
  for (const name of Object.keys(FUNCTIONS)) {
    const timeout = await timeoutSecondsOf(context, name);
    thresholds[name] = Math.round((timeout * 1000 * lambdaDurationAlarmPercent) / 100);
  }
  return thresholds;
}

/**
 * The dashboard body, as the `Fn::Sub` CloudFormation fills in with the names of what the stack created.
 * @param {Context} context
 */
async function dashboardBody(context) {
  const { resolveVariable } = context;
  const namespace = String(await resolveVariable('self:custom.observability.metricsNamespace'));
  const service = String(await resolveVariable('self:custom.observability.serviceName'));
  const limits = await alarmThresholds(context);
  const durations = await durationThresholdMs(context);
  const region = `\${AWS::Region}`;
  const period = 300;

  const queue = (logicalId) => `\${${logicalId}.QueueName}`;
  const fn = (name) => `\${${FUNCTIONS[name].logicalId}}`;
  const decision = (metricName, label) => [namespace, metricName, 'service', service, { label, stat: 'Sum' }];
  const failedByReason = `SEARCH('{${namespace},reason,service} MetricName="AssociationFailed" service="${service}"', 'Sum', ${period})`;
  const rejectedByReason = `SEARCH('{${namespace},reason,service} MetricName="RequestRejected" service="${service}"', 'Sum', ${period})`;

  /**
   * @param {string} title
   * @param {unknown[]} metrics
   * @param {Record<string, unknown>} [extra]
   */
  const graph = (title, metrics, extra = {}) => ({
    type: 'metric',
    width: 8,
    height: 6,
    properties: { title, region, view: 'timeSeries', stacked: false, period, metrics, ...extra },
  });
  const threshold = (label, value) => ({ label, value });

  const widgets = [
    graph('Requests', [
      [
        'AWS/SQS',
        'NumberOfMessagesSent',
        'QueueName',
        queue('RequestsQueue'),
        { label: 'sent by producers', stat: 'Sum' },
      ],
      [
        'AWS/SQS',
        'NumberOfMessagesReceived',
        'QueueName',
        queue('RequestsQueue'),
        { label: 'received (deliveries)', stat: 'Sum' },
      ],
      decision('AssociationStarted', 'accepted, AWS operation started'),
      decision('DuplicateRequest', 'duplicates'),
      decision('RequestRetried', 'retried later'),
    ]),
    graph('Decisions by outcome', [
      decision('AssociationSucceeded', 'succeeded'),
      [{ expression: `SUM(${failedByReason})`, label: 'failed', id: 'failed' }],
      [{ expression: `SUM(${rejectedByReason})`, label: 'rejected messages', id: 'rejected' }],
    ]),
    graph('Failed decisions by reason', [[{ expression: failedByReason, label: '', id: 'reasons' }]]),
    graph('Queue depth (visible / in flight)', [
      ...Object.entries(QUEUES).map(([logicalId, label]) => [
        'AWS/SQS',
        'ApproximateNumberOfMessagesVisible',
        'QueueName',
        queue(logicalId),
        { label: `${label} visible`, stat: 'Maximum' },
      ]),
      ...['RequestsQueue', 'TrackingQueue'].map((logicalId) => [
        'AWS/SQS',
        'ApproximateNumberOfMessagesNotVisible',
        'QueueName',
        queue(logicalId),
        { label: `${QUEUES[logicalId]} in flight`, stat: 'Maximum' },
      ]),
    ]),
    graph(
      'Oldest message age (s)',
      ['RequestsQueue', 'TrackingQueue'].map((logicalId) => [
        'AWS/SQS',
        'ApproximateAgeOfOldestMessage',
        'QueueName',
        queue(logicalId),
        { label: QUEUES[logicalId], stat: 'Maximum' },
      ]),
      {
        annotations: {
          horizontal: [
            threshold('requests alarm', limits.requestsQueueMaxAgeSeconds),
            threshold('tracking alarm', limits.trackingQueueMaxAgeSeconds),
          ],
        },
      },
    ),
    graph(
      'Dead letters sent',
      ['RequestsDlq', 'TrackingDlq'].map((logicalId) => [
        'AWS/SQS',
        'NumberOfMessagesSent',
        'QueueName',
        queue(logicalId),
        { label: QUEUES[logicalId], stat: 'Sum' },
      ]),
    ),
    graph(
      'Lambda errors and throttles',
      Object.entries(FUNCTIONS).flatMap(([name, { title }]) => [
        ['AWS/Lambda', 'Errors', 'FunctionName', fn(name), { label: `${title} errors`, stat: 'Sum' }],
        ['AWS/Lambda', 'Throttles', 'FunctionName', fn(name), { label: `${title} throttles`, stat: 'Sum' }],
      ]),
    ),
    graph(
      'Lambda duration (ms)',
      Object.entries(FUNCTIONS).flatMap(([name, { title }]) => [
        ['AWS/Lambda', 'Duration', 'FunctionName', fn(name), { label: `${title} p99`, stat: 'p99' }],
        ['AWS/Lambda', 'Duration', 'FunctionName', fn(name), { label: `${title} max`, stat: 'Maximum' }],
      ]),
      {
        annotations: {
          horizontal: Object.entries(FUNCTIONS).map(([name, { title }]) =>
            threshold(`${title} alarm`, durations[name]),
          ),
        },
      },
    ),
    graph(
      'Lambda invocations and concurrency',
      Object.entries(FUNCTIONS).flatMap(([name, { title }]) => [
        [
          'AWS/Lambda',
          'Invocations',
          'FunctionName',
          fn(name),
          { label: `${title} invocations`, stat: 'Sum' },
        ],
        [
          'AWS/Lambda',
          'ConcurrentExecutions',
          'FunctionName',
          fn(name),
          { label: `${title} concurrency`, stat: 'Maximum' },
        ],
      ]),
    ),
    {
      type: 'alarm',
      width: 24,
      height: 4,
      properties: { title: 'Alarms', alarms: ALARMS.map((logicalId) => `\${${logicalId}.Arn}`) },
    },
  ];
  return { 'Fn::Sub': JSON.stringify({ widgets }) };
}

module.exports = {
  durationThresholdMs,
  dashboardBody,
  FUNCTIONS,
  QUEUES,
  ALARMS,
};
