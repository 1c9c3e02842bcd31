import * as z from 'zod';
import {
  DOMAIN_NAME_PATTERN,
  type FaultRule,
  type LatencySetting,
  OPERATION_NAMES,
  OPERATIONS_WITH_DOMAIN,
  OPERATIONS_WITH_PACKAGE,
  type OperationName,
  PACKAGE_ID_PATTERN,
} from './model.ts';
import { isRecord } from './wire.ts';

/** The fault that answers nothing and drops the connection before the call runs, as a network failure would. */
export const CONNECTION_RESET_FAULT = 'ConnectionReset';

/**
 * The fault that runs the call, so it takes effect, then drops the connection before the answer is written:
 * the client sees a network error for a call that happened, and must find out what state it left.
 */
export const LOST_ANSWER_FAULT = 'LostAnswer';

const faultRuleSchema = z
  .strictObject({
    operation: z.enum([...OPERATION_NAMES, '*']),
    errorType: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]*$/, 'must be an error name such as ThrottlingException'),
    rate: z.number().min(0).max(1),
    domainName: z
      .string()
      .regex(DOMAIN_NAME_PATTERN, 'must be a domain name such as catalog-search')
      .optional(),
    packageId: z.string().regex(PACKAGE_ID_PATTERN, 'must be a package id such as F111111111').optional(),
    status: z.int().min(400).max(599).optional(),
    message: z.string().optional(),
  })
  .superRefine((rule, context) => {
    if (rule.operation === '*') return;
    if (rule.domainName !== undefined && !OPERATIONS_WITH_DOMAIN.has(rule.operation)) {
      context.addIssue({
        code: 'custom',
        path: ['domainName'],
        message: `${rule.operation} names no domain; scope it by domainName only for ${[...OPERATIONS_WITH_DOMAIN].join(', ')} or *`,
      });
    }
    if (rule.packageId !== undefined && !OPERATIONS_WITH_PACKAGE.has(rule.operation)) {
      context.addIssue({
        code: 'custom',
        path: ['packageId'],
        message: `${rule.operation} names no package; scope it by packageId only for ${[...OPERATIONS_WITH_PACKAGE].join(', ')} or *`,
      });
    }
  });

export const faultRulesSchema = z.array(faultRuleSchema);

const latencyMsSchema = z.number().min(0).max(60_000);

export const latencySettingSchema = z.union([
  latencyMsSchema,
  z.partialRecord(z.enum(OPERATION_NAMES), latencyMsSchema),
]);

/** Thrown when a fault rule, latency or runtime setting is out of range; the message names the field. */
export class InvalidEmulatorConfigError extends Error {
  override readonly name = 'InvalidEmulatorConfigError';
}

export function parseFaultRules(rules: unknown): FaultRule[] {
  const result = faultRulesSchema.safeParse(rules);
  if (!result.success) throw new InvalidEmulatorConfigError(z.prettifyError(result.error));
  return result.data;
}

export function parseLatencySetting(latency: unknown): LatencySetting {
  const result = latencySettingSchema.safeParse(latency);
  if (!result.success) throw new InvalidEmulatorConfigError(z.prettifyError(result.error));
  return result.data;
}

export function latencyFor(setting: LatencySetting, operation: OperationName): number {
  return typeof setting === 'number' ? setting : (setting[operation] ?? 0);
}

/** What a fault rule can be scoped by: the operation and the domain and packages its request names. */
export interface FaultTarget {
  operation: OperationName;
  domainName?: string | undefined;
  packageIds: readonly string[];
}

function matches(rule: FaultRule, target: FaultTarget): boolean {
  if (rule.operation !== '*' && rule.operation !== target.operation) return false;
  if (rule.domainName !== undefined && rule.domainName !== target.domainName) return false;
  if (rule.packageId !== undefined && !target.packageIds.includes(rule.packageId)) return false;
  return true;
}

/**
 * Picks the fault, if any, that a call fails with. Every matching rule draws once, in order, so a
 * seeded generator yields the same sequence of faults for the same sequence of calls.
 */
export function pickFault(rules: readonly FaultRule[], target: FaultTarget, random: () => number) {
  let chosen: FaultRule | undefined;
  for (const rule of rules) {
    if (!matches(rule, target)) continue;
    const draw = random();
    if (chosen === undefined && draw < rule.rate) chosen = rule;
  }
  return chosen;
}

const strings = (values: unknown[]): string[] =>
  values.filter((value): value is string => typeof value === 'string');

/** The domain and package ids a request body names, for operations that carry them in the body. */
function bodyTarget(operation: OperationName, body: Record<string, unknown>): Omit<FaultTarget, 'operation'> {
  const domainName = typeof body.DomainName === 'string' ? body.DomainName : undefined;
  const list = Array.isArray(body.PackageList) ? body.PackageList : [];
  switch (operation) {
    case 'AssociatePackages':
      return {
        domainName,
        packageIds: strings(list.map((entry) => (isRecord(entry) ? entry.PackageID : undefined))),
      };
    case 'DissociatePackages':
      return { domainName, packageIds: strings(list) };
    case 'UpdatePackage':
      return { packageIds: strings([body.PackageID]) };
    case 'DescribePackages': {
      const filters = Array.isArray(body.Filters) ? body.Filters : [];
      return {
        packageIds: filters.flatMap((filter) =>
          isRecord(filter) && filter.Name === 'PackageID' && Array.isArray(filter.Value)
            ? strings(filter.Value)
            : [],
        ),
      };
    }
    default:
      return { packageIds: [] };
  }
}

const OPERATIONS_WITH_BODY_TARGET: ReadonlySet<OperationName> = new Set([
  'AssociatePackages',
  'DissociatePackages',
  'UpdatePackage',
  'DescribePackages',
]);

/**
 * The domain and packages a call names, for fault rules scoped to them. Read leniently: a malformed body
 * names nothing here, and the operation refuses it as it would without faults.
 */
export function faultTarget(
  operation: OperationName,
  params: Record<string, string>,
  rawBody: string,
): FaultTarget {
  if (!OPERATIONS_WITH_BODY_TARGET.has(operation)) {
    return {
      operation,
      domainName: params.DomainName,
      packageIds: params.PackageID ? [params.PackageID] : [],
    };
  }
  let body: unknown;
  try {
    body = JSON.parse(rawBody);
  } catch {
    return { operation, packageIds: [] };
  }
  return isRecord(body) ? { operation, ...bodyTarget(operation, body) } : { operation, packageIds: [] };
}
