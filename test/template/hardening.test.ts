/**
 * What the packaged template guards, for the defaults (plus the required allow-list).
 */
import { rm } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadParamDefaults } from '../../src/local/serverless-config.ts';
import { type PackageRun, PROJECT_ROOT, runPackage } from './load-template.ts';

const PACKAGING_HOOK_TIMEOUT_MS = 120_000;

describe('packaged template: hardening', () => {
  let withoutAllowList: PackageRun;

  beforeAll(async () => {
    withoutAllowList = await runPackage();
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
});
