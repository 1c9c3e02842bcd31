/** Types of params.cjs for the TypeScript tests; osls itself loads the .cjs file. */

export interface VariableResolutionContext {
  resolveVariable(variable: string): Promise<unknown>;
}

export interface AlarmThresholds {
  lambdaErrorsAlarmThreshold: number;
  lambdaThrottlesAlarmThreshold: number;
  lambdaDurationAlarmPercent: number;
  requestsQueueMaxAgeSeconds: number;
  trackingQueueMaxAgeSeconds: number;
  deadLettersAlarmThreshold: number;
  failedDecisionsAlarmThreshold: number;
  anyFailedDecisionsAlarmThreshold: number;
}

export interface DeploySettings extends AlarmThresholds {
  allowedDomains: string[];
  maxAttempts: number;
  maxReceiveCount: number;
  retryBudgetSeconds: number;
  idempotencyTtlSeconds: number;
  trackingDeadlineSeconds: number;
  pluginTrackingDeadlineSeconds: number;
  logRetentionInDays: number;
  existingEventBusArn: string;
  alarmTopicArn: string;
}

export declare class InvalidParameterError extends Error {
  constructor(parameter: string, message: string);
}

export declare function settings(context: VariableResolutionContext): Promise<DeploySettings>;
export declare function alarmThresholds(context: VariableResolutionContext): Promise<AlarmThresholds>;
export declare function parseAllowedDomains(raw: unknown): string[];
export declare function parseInteger(parameter: string, raw: unknown, min: number, max: number): number;
export declare function parseAttempts(
  rawAttempts: unknown,
  rawReceiveCount: unknown,
): { maxAttempts: number; maxReceiveCount: number };
export declare function parseOptionalArn(
  parameter: string,
  raw: unknown,
  pattern: RegExp,
  what: string,
): string;
export declare function splitList(raw: unknown): string[];
