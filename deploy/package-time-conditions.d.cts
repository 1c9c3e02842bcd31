/** Types of package-time-conditions.cjs for the TypeScript tests; osls itself loads the .cjs file. */

export interface TemplateSections {
  Resources?: Record<string, unknown>;
  Outputs?: Record<string, unknown>;
  Conditions?: Record<string, unknown>;
}

declare class PackageTimeConditionsPlugin {
  constructor(
    serverless: { service: { provider: { compiledCloudFormationTemplate: unknown } } },
    options: unknown,
    utils?: { log?: { info?: (message: string) => void } },
  );
  hooks: Record<string, () => void>;
}

declare namespace PackageTimeConditionsPlugin {
  function foldPackageTimeConditions(template: TemplateSections): {
    decided: Record<string, boolean>;
    removed: string[];
  };
  function dropImpliedDependsOn(template: TemplateSections): string[];
  function decideConditions(conditions: Record<string, unknown>): Map<string, boolean>;
  function referencedIds(node: unknown): Set<string>;
  class PackageTimeConditionsError extends Error {}
}

export = PackageTimeConditionsPlugin;
