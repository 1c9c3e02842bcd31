import type { IncomingHttpHeaders } from 'node:http';

/** The services the local edge can route to, named as in their SigV4 credential scope. */
export const EDGE_SERVICES = ['sqs', 'dynamodb', 'es', 'events'] as const;
export type EdgeService = (typeof EDGE_SERVICES)[number];

export function isEdgeService(name: string): name is EdgeService {
  return (EDGE_SERVICES as readonly string[]).includes(name);
}

// `Credential=AKID/20260101/us-east-1/sqs/aws4_request`: the service is the scope's fourth element.
// https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_sigv-create-signed-request.html
const CREDENTIAL_IN_AUTHORIZATION = /Credential=([^,\s]+)/;

const TARGET_PREFIXES: ReadonlyArray<readonly [string, EdgeService]> = [
  ['AmazonSQS.', 'sqs'],
  ['DynamoDB_', 'dynamodb'],
  ['AWSEvents.', 'events'],
];

// OpenSearch Service's REST API lives under its API version; the 2015 one is the legacy Elasticsearch client's.
const ES_PATH_PREFIXES = ['/2021-01-01/', '/2015-01-01/'];

// The SQS query protocol (form-encoded `Action=...`) is the only query-protocol API among EDGE_SERVICES.
const QUERY_PROTOCOL_ACTION = /(?:^|&)Action=/;

function serviceFromCredentialScope(credential: string): string | undefined {
  const scope = credential.split('/');
  if (scope.length < 5 || scope.at(-1) !== 'aws4_request') return undefined;
  const service = scope.at(-2);
  return service === '' ? undefined : service;
}

function firstHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * Names the AWS service a request is meant for, or `undefined` when nothing in it says.
 *
 * The SigV4 credential scope (Authorization header, or `X-Amz-Credential` for presigned URLs) wins,
 * because that is what every SDK and the CLI send. Unsigned requests fall back to the protocol's
 * fingerprints: the JSON protocols' `X-Amz-Target`, OpenSearch's versioned REST path and the SQS
 * query protocol's `Action=` (in the query string or in `bodyPeek`, the start of a form body).
 * The returned name may be a service the edge does not serve (e.g. `s3`); the caller decides.
 */
export function serviceFromRequest(
  headers: IncomingHttpHeaders,
  url: string,
  bodyPeek?: string,
): string | undefined {
  const authorization = firstHeader(headers.authorization);
  const credential = authorization?.match(CREDENTIAL_IN_AUTHORIZATION)?.[1];
  if (credential !== undefined) {
    const service = serviceFromCredentialScope(credential);
    if (service !== undefined) return service;
  }

  const parsedUrl = new URL(url, 'http://edge.invalid');
  const presignedCredential = parsedUrl.searchParams.get('X-Amz-Credential');
  if (presignedCredential !== null) {
    const service = serviceFromCredentialScope(presignedCredential);
    if (service !== undefined) return service;
  }

  const target = firstHeader(headers['x-amz-target']);
  if (target !== undefined) {
    const match = TARGET_PREFIXES.find(([prefix]) => target.startsWith(prefix));
    if (match !== undefined) return match[1];
  }

  if (ES_PATH_PREFIXES.some((prefix) => parsedUrl.pathname.startsWith(prefix))) return 'es';

  if (parsedUrl.searchParams.has('Action')) return 'sqs';
  if (bodyPeek !== undefined && QUERY_PROTOCOL_ACTION.test(bodyPeek)) return 'sqs';

  return undefined;
}
