/** Types of iam.cjs for the TypeScript tests; osls itself loads the .cjs file. */
import type { VariableResolutionContext } from './params.cjs';

export interface FnSub {
  'Fn::Sub': string;
}

export declare function opensearchDomainArns(context: VariableResolutionContext): Promise<FnSub[]>;
export declare function producerPrincipals(
  context: VariableResolutionContext,
): Promise<Array<string | FnSub>>;
export declare function hasKeyAccessRoles(context: VariableResolutionContext): Promise<'true' | 'false'>;
export declare function keyAccessRoleArns(context: VariableResolutionContext): Promise<string[]>;
export declare function opensearchDomainArn(domainNameOrPattern: string): FnSub;
export declare function parseProducerPrincipals(raw: unknown): Array<string | FnSub>;
export declare function parseKeyAccessRoleArns(raw: unknown): string[];
