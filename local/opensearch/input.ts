import {
  DESCRIBE_PACKAGES_FILTER_NAMES,
  type DescribePackagesFilterName,
  DOMAIN_NAME_PATTERN,
  PACKAGE_ID_PATTERN,
  type PackageAssociationConfiguration,
} from './model.ts';
import type { AssociationRequest, DescribePackagesFilter } from './store.ts';
import { isRecord, validationError } from './wire.ts';

// Validation messages follow the wording AWS uses for constraint violations.
export function constraintError(value: unknown, field: string, constraint: string) {
  return validationError(
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

export function requireDomainName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !DOMAIN_NAME_PATTERN.test(value)) {
    throw constraintError(
      value,
      field,
      'Member must satisfy regular expression pattern: [a-z][a-z0-9\\-]+ and have length between 3 and 28',
    );
  }
  return value;
}

export function requirePackageId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !PACKAGE_ID_PATTERN.test(value)) {
    throw constraintError(
      value,
      field,
      'Member must satisfy regular expression pattern: ^([FG][0-9]+)$|^(pkg-[a-f0-9]+)$',
    );
  }
  return value;
}

export function optionalPackageIdList(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw validationError(`${field} must be a list of package ids`);
  return value.map((id, index) => requirePackageId(id, `${field}.${index + 1}.member`));
}

interface StringLimits {
  min?: number;
  max: number;
  required?: boolean;
}

/** A string member of at most `max` characters (and at least `min`); `undefined` when absent and optional. */
export function stringMember(
  value: unknown,
  field: string,
  limits: StringLimits & { required: true },
): string;
export function stringMember(value: unknown, field: string, limits: StringLimits): string | undefined;
export function stringMember(
  value: unknown,
  field: string,
  { min = 0, max, required = false }: StringLimits,
): string | undefined {
  if (value === undefined || value === null) {
    if (required) throw constraintError(value ?? null, field, 'Member must not be null');
    return undefined;
  }
  if (typeof value !== 'string') throw constraintError(value, field, 'Member must be a string');
  if (value.length < min || value.length > max) {
    throw constraintError(value, field, `Member must have length between ${min} and ${max}`);
  }
  return value;
}

export function booleanMember(value: unknown, field: string, required: true): boolean;
export function booleanMember(value: unknown, field: string, required: boolean): boolean | undefined;
export function booleanMember(value: unknown, field: string, required: boolean): boolean | undefined {
  if (value === undefined || value === null) {
    if (required) throw constraintError(value ?? null, field, 'Member must not be null');
    return undefined;
  }
  if (typeof value !== 'boolean') throw constraintError(value, field, 'Member must be a boolean');
  return value;
}

export function enumMember<T extends string>(value: unknown, field: string, values: readonly T[]): T {
  if (value === undefined || value === null) throw constraintError(null, field, 'Member must not be null');
  if (!values.includes(value as T)) {
    throw constraintError(value, field, `Member must satisfy enum value set: [${values.join(', ')}]`);
  }
  return value as T;
}

const ROLE_ARN_PATTERN = /^arn:aws[a-z-]*:iam::[0-9]{12}:role\/[\w+=,.@/-]+$/;

function optionalAssociationConfiguration(
  value: unknown,
  field: string,
): PackageAssociationConfiguration | undefined {
  if (value === undefined || value === null) return undefined;
  if (!isRecord(value)) throw validationError(`${field} must be an object`);
  const option = value.KeyStoreAccessOption;
  if (option === undefined || option === null) return {};
  if (!isRecord(option) || typeof option.KeyStoreAccessEnabled !== 'boolean') {
    throw validationError(
      `${field}.keyStoreAccessOption.keyStoreAccessEnabled is required and must be a boolean`,
    );
  }
  const roleArn = option.KeyAccessRoleArn;
  if (roleArn !== undefined && (typeof roleArn !== 'string' || !ROLE_ARN_PATTERN.test(roleArn))) {
    throw constraintError(
      roleArn,
      `${field}.keyStoreAccessOption.keyAccessRoleArn`,
      'Member must be an IAM role ARN',
    );
  }
  if (option.KeyStoreAccessEnabled && roleArn === undefined) {
    throw validationError(
      `${field}.keyStoreAccessOption.keyAccessRoleArn is required when key store access is enabled`,
    );
  }
  return {
    KeyStoreAccessOption: {
      KeyStoreAccessEnabled: option.KeyStoreAccessEnabled,
      ...(typeof roleArn === 'string' && { KeyAccessRoleArn: roleArn }),
    },
  };
}

const MAX_PAGE_SIZE = 100;

export function optionalMaxResults(value: unknown, field: string): number | undefined {
  if (value === undefined || value === null) return undefined;
  const parsed = typeof value === 'string' ? Number(value) : value;
  if (typeof parsed !== 'number' || !Number.isInteger(parsed) || parsed < 1 || parsed > MAX_PAGE_SIZE) {
    throw constraintError(value, field, `Member must have value between 1 and ${MAX_PAGE_SIZE}`);
  }
  return parsed;
}

/**
 * Answers one page. The token is opaque to clients; it carries the offset and what it was issued for,
 * so a token replayed against another listing is refused instead of silently skipping items.
 */
export function paginate<T>(
  items: readonly T[],
  scope: string,
  maxResults: number | undefined,
  nextToken: unknown,
): { page: T[]; NextToken?: string } {
  let offset = 0;
  if (nextToken !== undefined && nextToken !== null && nextToken !== '') {
    offset = decodePageToken(nextToken, scope);
  }
  const end = offset + (maxResults ?? MAX_PAGE_SIZE);
  return {
    page: items.slice(offset, end),
    ...(end < items.length && {
      NextToken: Buffer.from(JSON.stringify({ scope, offset: end })).toString('base64url'),
    }),
  };
}

function decodePageToken(token: unknown, scope: string): number {
  if (typeof token === 'string') {
    try {
      const decoded: unknown = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
      if (isRecord(decoded) && decoded.scope === scope && Number.isInteger(decoded.offset)) {
        return Math.max(0, Number(decoded.offset));
      }
    } catch {
      // Falls through to the same answer as a well-formed token issued for something else.
    }
  }
  throw validationError('Invalid nextToken: it was not issued for this request');
}

export function queryValue(query: URLSearchParams, name: string): string | undefined {
  return query.get(name) ?? undefined;
}

/** `prefix` locates the entry in the request for error messages; empty for top-level members. */
export function parseAssociation(entry: unknown, prefix: string): AssociationRequest {
  const field = (name: string) => (prefix === '' ? name : `${prefix}.${name}`);
  if (!isRecord(entry)) throw validationError(`${prefix} must be an object`);
  const packageId = requirePackageId(entry.PackageID, field('packageID'));
  const prerequisitePackageIds = optionalPackageIdList(
    entry.PrerequisitePackageIDList,
    field('prerequisitePackageIDList'),
  );
  const associationConfiguration = optionalAssociationConfiguration(
    entry.AssociationConfiguration,
    field('associationConfiguration'),
  );
  return {
    packageId,
    ...(prerequisitePackageIds && { prerequisitePackageIds }),
    ...(associationConfiguration && { associationConfiguration }),
  };
}

export function parseDescribeFilters(value: unknown): DescribePackagesFilter[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw validationError('filters must be a list');
  return value.map((filter: unknown, index) => {
    const field = `filters.${index + 1}.member`;
    if (!isRecord(filter)) throw validationError(`${field} must be an object`);
    const name = enumMember(filter.Name, `${field}.name`, DESCRIBE_PACKAGES_FILTER_NAMES);
    const values = filter.Value;
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) {
      throw constraintError(values, `${field}.value`, 'Member must be a non-empty list of strings');
    }
    return { name: name satisfies DescribePackagesFilterName, values };
  });
}
