import {
  constraintError,
  optionalMaxResults,
  paginate,
  parseAssociation,
  parseDescribeFilters,
  queryValue,
  requireDomainName,
  requirePackageId,
} from './input.ts';
import { API_VERSION_PREFIX, ENGINE_TYPES, type EngineType, type OperationName } from './model.ts';
import { parseCreatePackage, parseUpdatePackage } from './package-input.ts';
import type { PackageStore } from './store.ts';
import { validationError } from './wire.ts';

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
  { method: 'POST', pattern: /^\/packages$/, operation: 'CreatePackage' },
  { method: 'POST', pattern: /^\/packages\/update$/, operation: 'UpdatePackage' },
  {
    method: 'GET',
    pattern: /^\/packages\/(?<PackageID>[^/]+)\/history$/,
    operation: 'GetPackageVersionHistory',
  },
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
  { method: 'POST', pattern: /^\/packages\/dissociateMultiple$/, operation: 'DissociatePackages' },
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

const MAX_PACKAGES_PER_REQUEST = 20;

/** The list of a batch call: 1 to 20 entries, none twice. */
function batchList<T>(
  list: unknown,
  parse: (entry: unknown, field: string) => T,
  id: (entry: T) => string,
): T[] {
  if (!Array.isArray(list) || list.length === 0 || list.length > MAX_PACKAGES_PER_REQUEST) {
    throw validationError(`packageList must hold between 1 and ${MAX_PACKAGES_PER_REQUEST} packages`);
  }
  const entries = list.map((entry: unknown, index) => parse(entry, `packageList.${index + 1}.member`));
  const ids = entries.map(id);
  const duplicate = ids.find((value, index) => ids.indexOf(value) !== index);
  if (duplicate !== undefined)
    throw validationError(`Package ${duplicate} appears more than once in packageList`);
  return entries;
}

export const OPERATIONS: Readonly<Record<OperationName, OperationHandler>> = {
  CreatePackage: (store, { body }) => ({ PackageDetails: store.packages.create(parseCreatePackage(body)) }),

  UpdatePackage: (store, { body }) => ({ PackageDetails: store.packages.update(parseUpdatePackage(body)) }),

  GetPackageVersionHistory: (store, { params, query }) => {
    const packageId = requirePackageId(params.PackageID, 'packageID');
    const maxResults = optionalMaxResults(queryValue(query, 'maxResults'), 'maxResults');
    const { page, NextToken } = paginate(
      store.packages.history(packageId),
      `GetPackageVersionHistory/${packageId}`,
      maxResults,
      queryValue(query, 'nextToken'),
    );
    return { PackageID: packageId, PackageVersionHistoryList: page, ...(NextToken && { NextToken }) };
  },

  AssociatePackage: (store, { params, body }) => {
    const request = parseAssociation({ ...body, PackageID: params.PackageID }, '');
    const domainName = requireDomainName(params.DomainName, 'domainName');
    const [details] = store.associate(domainName, [request]);
    return { DomainPackageDetails: details };
  },

  AssociatePackages: (store, { body }) => {
    const domainName = requireDomainName(body.DomainName, 'domainName');
    const requests = batchList(body.PackageList, parseAssociation, (request) => request.packageId);
    return { DomainPackageDetailsList: store.associate(domainName, requests) };
  },

  DissociatePackage: (store, { params }) => {
    const packageId = requirePackageId(params.PackageID, 'packageID');
    const domainName = requireDomainName(params.DomainName, 'domainName');
    const [details] = store.dissociate(domainName, [packageId]);
    return { DomainPackageDetails: details };
  },

  DissociatePackages: (store, { body }) => {
    const domainName = requireDomainName(body.DomainName, 'domainName');
    const packageIds = batchList(body.PackageList, requirePackageId, (id) => id);
    return { DomainPackageDetailsList: store.dissociate(domainName, packageIds) };
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
