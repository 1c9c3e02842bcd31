/** Types of observability.cjs for the TypeScript tests; osls itself loads the .cjs file. */
import type { VariableResolutionContext } from './params.cjs';

export declare function durationThresholdMs(
  context: VariableResolutionContext,
): Promise<Record<string, number>>;
export declare function dashboardBody(context: VariableResolutionContext): Promise<{ 'Fn::Sub': string }>;
export declare const FUNCTIONS: Record<string, { logicalId: string; title: string }>;
export declare const QUEUES: Record<string, string>;
export declare const ALARMS: string[];
