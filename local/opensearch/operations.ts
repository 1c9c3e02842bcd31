import {
  API_VERSION_PREFIX,
  DESCRIBE_PACKAGES_FILTER_NAMES,
  type DescribePackagesFilterName,
  DOMAIN_NAME_PATTERN,
  ENGINE_TYPES,
  type EngineType,
  type OperationName,
  PACKAGE_ID_PATTERN,
  type PackageAssociationConfiguration,
} from './model.ts';
import type { AssociationRequest, DescribePackagesFilter, PackageStore } from './store.ts';
import { isRecord, validationError } from './wire.ts';

/** What an operation gets from the request, already split by the route. */
export interface OperationInput {
  params: Readonly<Record<string, string>>;
  query: URLSearchParams;
  body: Record<string, unknown>;
}

type OperationHandler = (store: PackageStore, input: OperationInput) => unknown;

interface Route {
  method: 'GET' | 'POST';
  pattern: RegExp;
  operation: OperationName;
}

/** The HTTP bindings of `@aws-sdk/client-opensearch` (its schema's `http` traits) for these operations. */
const ROUTES: readonly Route[] = [
  {
    method: 'POST',
    pattern: /^\/packages\/associate\/(?<PackageID>[^/]+)\/(?<DomainName>[^/]+)$/,
    operation: 'AssociatePackage',
  },
  { method: 'POST', pattern: /^\/packages\/associateMultiple$/, operation: 'AssociatePackages' },
  {
    method: 'POST',
    pattern: /^\/packages\/dissociate\/(?<PackageID>[^/]+)\/(?<DomainName>[^/]+)$/,
    operation: 'DissociatePackage',
  },
  {
    method: 'GET',
    pattern: /^\/domain\/(?<DomainName>[^/]+)\/packages$/,
    operation: 'ListPackagesForDomain',
  },
  {
    method: 'GET',
    pattern: /^\/packages\/(?<PackageID>[^/]+)\/domains$/,
    operation: 'ListDomainsForPackage',
  },
  { method: 'POST', pattern: /^\/packages\/describe$/, operation: 'DescribePackages' },
  { method: 'GET', pattern: /^\/domain$/, operation: 'ListDomainNames' },
  { method: 'GET', pattern: /^\/opensearch\/domain\/(?<DomainName>[^/]+)$/, operation: 'DescribeDomain' },
];

export interface MatchedRoute {
  operation: OperationName;
  params: Record<string, string>;
}

export function matchRoute(method: string, pathname: string): MatchedRoute | undefined {
  if (!pathname.startsWith(`${API_VERSION_PREFIX}/`)) return undefined;
  const path = pathname.slice(API_VERSION_PREFIX.length);
  for (const route of ROUTES) {
    if (route.method !== method) continue;
    const match = route.pattern.exec(path);
    if (match === null) continue;
    const params: Record<string, string> = {};
    for (const [name, value] of Object.entries(match.groups ?? {})) {
      try {
        params[name] = decodeURIComponent(value);
      } catch {
        // A label that is not valid percent-encoding cannot match any resource or rule.
        params[name] = value;
      }
    }
    return { operation: route.operation, params };
  }
  return undefined;
}

// Validation messages follow the wording AWS uses for constraint violations.
function constraintError(value: unknown, field: string, constraint: string) {
  return validationError(
    `1 validation error detected: Value '${String(value)}' at '${field}' failed to satisfy constraint: ${constraint}`,
  );
}

function requireDomainName(value: unknown, field: string): string {
  if (typeof value !== 'string' || !DOMAIN_NAME_PATTERN.test(value)) {
    throw constraintError(
      value,
      field,
      'Member must satisfy regular expression pattern: [a-z][a-z0-9\\-]+ and have length between 3 and 28',
    );
  }
  return value;
}

function requirePackageId(value: unknown, field: string): string {
  if (typeof value !== 'string' || !PACKAGE_ID_PATTERN.test(value)) {
    throw constraintError(
      value,
      field,
      'Member must satisfy regular expression pattern: ^([FG][0-9]+)$|^(pkg-[a-f0-9]+)$',
    );
  }
  return value;
}

function optionalPackageIdList(value: unknown, field: string): string[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value)) throw validationError(`${field} must be a list of package ids`);
  return value.map((id, index) => requirePackageId(id, `${field}.${index + 1}.member`));
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

function optionalMaxResults(value: unknown, field: string): number | undefined {
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
function paginate<T>(
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

function queryValue(query: URLSearchParams, name: string): string | undefined {
  return query.get(name) ?? undefined;
}

/** `prefix` locates the entry in the request for error messages; empty for top-level members. */
function parseAssociation(entry: unknown, prefix: string): AssociationRequest {
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

const MAX_PACKAGES_PER_REQUEST = 20;

function parseDescribeFilters(value: unknown): DescribePackagesFilter[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw validationError('filters must be a list');
  return value.map((filter: unknown, index) => {
    const field = `filters.${index + 1}.member`;
    if (!isRecord(filter)) throw validationError(`${field} must be an object`);
    if (!DESCRIBE_PACKAGES_FILTER_NAMES.includes(filter.Name as DescribePackagesFilterName)) {
      throw constraintError(
        filter.Name,
        `${field}.name`,
        `Member must satisfy enum value set: [${DESCRIBE_PACKAGES_FILTER_NAMES.join(', ')}]`,
      );
    }
    const values = filter.Value;
    if (!Array.isArray(values) || values.length === 0 || !values.every((v) => typeof v === 'string')) {
      throw constraintError(values, `${field}.value`, 'Member must be a non-empty list of strings');
    }
    return { name: filter.Name as DescribePackagesFilterName, values };
  });
}

export const OPERATIONS: Readonly<Record<OperationName, OperationHandler>> = {
  AssociatePackage: (store, { params, body }) => {
    const request = parseAssociation({ ...body, PackageID: params.PackageID }, '');
    const domainName = requireDomainName(params.DomainName, 'domainName');
    const [details] = store.associate(domainName, [request]);
    return { DomainPackageDetails: details };
  },

  AssociatePackages: (store, { body }) => {
    const domainName = requireDomainName(body.DomainName, 'domainName');
    const list = body.PackageList;
    if (!Array.isArray(list) || list.length === 0 || list.length > MAX_PACKAGES_PER_REQUEST) {
      throw validationError(`packageList must hold between 1 and ${MAX_PACKAGES_PER_REQUEST} packages`);
    }
    const requests = list.map((entry: unknown, index) =>
      parseAssociation(entry, `packageList.${index + 1}.member`),
    );
    const ids = requests.map((request) => request.packageId);
    const duplicate = ids.find((id, index) => ids.indexOf(id) !== index);
    if (duplicate !== undefined)
      throw validationError(`Package ${duplicate} appears more than once in packageList`);
    return { DomainPackageDetailsList: store.associate(domainName, requests) };
  },

  DissociatePackage: (store, { params }) => {
    const packageId = requirePackageId(params.PackageID, 'packageID');
    const domainName = requireDomainName(params.DomainName, 'domainName');
    return { DomainPackageDetails: store.dissociate(domainName, packageId) };
  },

  ListPackagesForDomain: (store, { params, query }) => {
    const domainName = requireDomainName(params.DomainName, 'domainName');
    const maxResults = optionalMaxResults(queryValue(query, 'maxResults'), 'maxResults');
    const { page, NextToken } = paginate(
      store.packagesForDomain(domainName),
      `ListPackagesForDomain/${domainName}`,
      maxResults,
      queryValue(query, 'nextToken'),
    );
    return { DomainPackageDetailsList: page, ...(NextToken && { NextToken }) };
  },

  ListDomainsForPackage: (store, { params, query }) => {
    const packageId = requirePackageId(params.PackageID, 'packageID');
    const maxResults = optionalMaxResults(queryValue(query, 'maxResults'), 'maxResults');
    const { page, NextToken } = paginate(
      store.domainsForPackage(packageId),
      `ListDomainsForPackage/${packageId}`,
      maxResults,
      queryValue(query, 'nextToken'),
    );
    return { DomainPackageDetailsList: page, ...(NextToken && { NextToken }) };
  },

  DescribePackages: (store, { body }) => {
    const filters = parseDescribeFilters(body.Filters);
    const maxResults = optionalMaxResults(body.MaxResults, 'maxResults');
    // The filters are part of the scope: a token from one query must not page through another.
    const { page, NextToken } = paginate(
      store.describePackages(filters),
      `DescribePackages/${JSON.stringify(filters)}`,
      maxResults,
      body.NextToken,
    );
    return { PackageDetailsList: page, ...(NextToken && { NextToken }) };
  },

  ListDomainNames: (store, { query }) => {
    const engineType = queryValue(query, 'engineType');
    if (engineType !== undefined && !ENGINE_TYPES.includes(engineType as EngineType)) {
      throw constraintError(
        engineType,
        'engineType',
        `Member must satisfy enum value set: [${ENGINE_TYPES.join(', ')}]`,
      );
    }
    return { DomainNames: store.domainNames(engineType as EngineType | undefined) };
  },

  DescribeDomain: (store, { params }) => {
    const domainName = requireDomainName(params.DomainName, 'domainName');
    return { DomainStatus: store.describeDomain(domainName) };
  },
};
