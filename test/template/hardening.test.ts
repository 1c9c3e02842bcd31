/**
 * What the packaged template guards, for the defaults (plus the required allow-list), and that the params are
 * decided before CloudFormation sees them.
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadParamDefaults } from '../../src/local/serverless-config.ts';
import {
  type CloudFormationTemplate,
  loadTemplate,
  MINIMAL_PARAMS,
  type PackageRun,
  PROJECT_ROOT,
  resource,
  runPackage,
} from './load-template.ts';

const PACKAGING_HOOK_TIMEOUT_MS = 120_000;

const FUNCTIONS = {
  associatePackage: 'AssociatePackageLambdaFunction',
  trackAssociation: 'TrackAssociationLambdaFunction',
} as const;
const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** The ids a piece of template refers to (Ref, Fn::GetAtt, Fn::Sub). */
function references(node: unknown, found = new Set<string>()): Set<string> {
  if (Array.isArray(node)) for (const item of node) references(item, found);
  else if (typeof node === 'object' && node !== null) {
    for (const [key, value] of Object.entries(node)) {
      if (key === 'Ref' && typeof value === 'string') found.add(value);
      else if (key === 'Fn::GetAtt' && Array.isArray(value)) found.add(String(value[0]));
      else if (key === 'Fn::Sub' && typeof value === 'string') {
        for (const [, id] of value.matchAll(/\$\{([\w]+)[.}]/g)) found.add(id ?? '');
      } else references(value, found);
    }
  }
  return found;
}

describe('packaged template: hardening', () => {
  const templates: Record<'minimal', CloudFormationTemplate> = {} as never;
  let withoutAllowList: PackageRun;

  beforeAll(async () => {
    [templates.minimal, withoutAllowList] = await Promise.all([
      loadTemplate({ params: MINIMAL_PARAMS }),
      runPackage(),
    ]);
  }, PACKAGING_HOOK_TIMEOUT_MS);

  afterAll(async () => {
    if (withoutAllowList) await rm(withoutAllowList.workDir, { recursive: true, force: true });
  });

  describe('the required allow-list', () => {
    it('refuses to package without allowedDomains, naming the param and how to pass it', () => {
      expect(withoutAllowList.exitCode).not.toBe(0);
      expect(withoutAllowList.output).toContain(
        'Invalid param "allowedDomains": is required and has no default: pass --param="allowedDomains=',
      );
    });

    it('has no default; only the local stage that `npm start` runs as has an allow-list of its own', () => {
      const serverlessYml = `${PROJECT_ROOT}/serverless.yml`;
      expect(loadParamDefaults(serverlessYml)).not.toHaveProperty('allowedDomains');
      expect(loadParamDefaults(serverlessYml, { stage: 'dev' })).not.toHaveProperty('allowedDomains');
      expect(loadParamDefaults(serverlessYml, { stage: 'local' }).allowedDomains).toBe(
        'catalog-search,orders-*',
      );
    });
  });

  describe.each(['minimal'] as const)('decided at package time (%s params)', (set) => {
    it('holds no condition and no Fn::If: only what applies', () => {
      const template = templates[set];
      expect(template.Conditions).toBeUndefined();
      expect(JSON.stringify(template)).not.toMatch(/"Fn::If"|"Condition":"|AWS::NoValue/);
    });

    it('holds no empty ARN where an unset param used to land (no AlarmActions [""], no Resource "")', () => {
      const text = JSON.stringify(templates[set].Resources);
      expect(text).not.toContain('"Resource":""');
      expect(text).not.toMatch(/"(AlarmActions|OKActions)":\[""\]/);
    });

    it('has no DependsOn its properties already imply', () => {
      for (const [id, definition] of Object.entries(templates[set].Resources)) {
        const implied = references(definition.Properties);
        for (const dependency of asArray(definition.DependsOn)) {
          expect(implied.has(dependency), `${id} -> ${dependency}`).toBe(false);
        }
      }
      // osls's own log-group dependency, which nothing implies, is still there.
      expect(resource(templates[set], FUNCTIONS.associatePackage).DependsOn).toEqual([
        'AssociatePackageLogGroup',
      ]);
    });
  });
});
