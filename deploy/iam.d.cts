/** Types of iam.cjs for the TypeScript tests; osls itself loads the .cjs file. */
import type { VariableResolutionContext } from './params.cjs';

export interface FnSub {
  'Fn::Sub': string;
}

export interface FnGetAtt {
  'Fn::GetAtt': [string, string];
}

export interface DenyAllButCondition {
  ArnNotEquals?: { 'aws:PrincipalArn': Array<string | FnSub> };
  StringNotEquals?: { 'aws:PrincipalAccount': Array<string | { Ref: string }> };
}

export declare function opensearchDomainArns(context: VariableResolutionContext): Promise<FnSub[]>;
export declare function hasNamedProducers(context: VariableResolutionContext): Promise<'true' | 'false'>;
export declare function requestSenders(context: VariableResolutionContext): Promise<Array<string | FnSub>>;
export declare function requestSendersDenyCondition(
  context: VariableResolutionContext,
): Promise<DenyAllButCondition>;
export declare function trackingQueueSenders(
  context: VariableResolutionContext,
): Promise<Array<string | FnSub | FnGetAtt>>;
export declare function hasKeyAccessRoles(context: VariableResolutionContext): Promise<'true' | 'false'>;
export declare function keyAccessRoleArns(context: VariableResolutionContext): Promise<string[]>;
export declare function opensearchDomainArn(domainNameOrPattern: string): FnSub;
export declare function parseProducerPrincipals(raw: unknown): string[];
export declare function parseKeyAccessRoleArns(raw: unknown): string[];
export declare function parseOperatorRoleArns(raw: unknown): string[];
export declare function denyAllButCondition(principals: string[]): DenyAllButCondition;
export declare function withPseudoParameters(value: string): string | FnSub;
