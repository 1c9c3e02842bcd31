'use strict';

// Alarm thresholds derived from more than one setting, resolved by osls through
// `${file(./deploy/observability.cjs):<export>}` (see params.cjs for how osls calls these exports).

const { alarmThresholds } = require('./params.cjs');

/** The functions, by their name under `functions:` and the logical id osls gives them. */
const FUNCTIONS = {
  associatePackage: { logicalId: 'AssociatePackageLambdaFunction', title: 'associate-package' },
  trackAssociation: { logicalId: 'TrackAssociationLambdaFunction', title: 'track-association' },
};

/** Every alarm serverless.yml declares (a template test keeps this in step). */
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

module.exports = {
  durationThresholdMs,
  FUNCTIONS,
  ALARMS,
};
