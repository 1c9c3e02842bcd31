import {
  Agent,
  createServer,
  request as httpRequest,
  type IncomingHttpHeaders,
  IncomingMessage,
  type OutgoingHttpHeaders,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { pipeline } from 'node:stream/promises';
import { type EdgeService, isEdgeService, serviceFromRequest } from './sigv4-service.ts';

export { EDGE_SERVICES, type EdgeService, serviceFromRequest } from './sigv4-service.ts';

export type EdgeHandler = (req: IncomingMessage, res: ServerResponse) => Promise<void>;

export interface EdgeUpstream {
  /** Base URL of an HTTP server to reverse-proxy to, e.g. `http://127.0.0.1:49152`. */
  upstream: string;
  /**
   * For an SQS emulator whose queue URLs name its own host, as fauxqs's do
   * (`http://sqs.us-east-1.localhost:<its port>/000000000000/q`): rewrite the URLs in CreateQueue,
   * GetQueueUrl, ListQueues and ListDeadLetterSourceQueues answers to the origin the client called.
   * The SDK v3 SQS client sends each call to its QueueUrl's origin unless given an explicit `endpoint`
   * (AWS_ENDPOINT_URL alone is not enough), and `*.localhost` does not resolve on every machine.
   */
  rewriteQueueUrls?: boolean;
}

/** An in-process handler, an upstream base URL, or an upstream with options. */
export type EdgeRoute = EdgeHandler | string | EdgeUpstream;

export interface EdgeOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 4566; 0 picks a free port. */
  port?: number;
  routes: Partial<Record<EdgeService, EdgeRoute>>;
  /**
   * Non-AWS paths by prefix, e.g. `{ '/_emulator/events/': emulator.handle, '/_fauxqs/': fauxqsUrl }`.
   * The longest matching prefix wins and is checked before any service routing.
   */
  adminRoutes?: Record<string, EdgeRoute>;
}

export interface EdgeServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export class EdgeStartError extends Error {
  override readonly name = 'EdgeStartError';
}

const EMULATOR_PATH_PREFIX = '/_emulator/';
// Large enough for an SQS query-protocol SendMessage of a 1 MiB message once form-encoded.
const MAX_PEEKED_BODY_BYTES = 8 * 1024 * 1024;
// RFC 9110 §7.6.1: connection-level headers are not forwarded by a proxy.
const HOP_BY_HOP_HEADERS = [
  'connection',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'upgrade',
];

class EdgeRoutingError extends Error {
  override readonly name = 'EdgeRoutingError';
  readonly code: string;
  readonly statusCode: number;

  constructor(code: string, message: string, statusCode: number) {
    super(message);
    this.code = code;
    this.statusCode = statusCode;
  }
}

interface ResolvedUpstream {
  base: URL;
  rewriteQueueUrls: boolean;
}

type ResolvedRoute = { handler: EdgeHandler } | { upstream: ResolvedUpstream };

function resolveRoute(route: EdgeRoute, label: string): ResolvedRoute {
  if (typeof route === 'function') return { handler: route };
  const spec = typeof route === 'string' ? { upstream: route } : route;
  let base: URL;
  try {
    base = new URL(spec.upstream);
  } catch {
    throw new EdgeStartError(`Route ${label}: upstream ${spec.upstream} is not a URL`);
  }
  if (base.protocol !== 'http:') {
    throw new EdgeStartError(`Route ${label}: only http:// upstreams are supported`);
  }
  return { upstream: { base, rewriteQueueUrls: spec.rewriteQueueUrls ?? false } };
}

function sendEdgeError(res: ServerResponse, error: EdgeRoutingError): void {
  if (res.headersSent) {
    res.destroy(error);
    return;
  }
  const body = JSON.stringify({ __type: error.code, message: error.message });
  res.writeHead(error.statusCode, {
    'content-type': 'application/json',
    'x-amzn-errortype': error.code,
    'content-length': String(Buffer.byteLength(body)),
  });
  res.end(body);
}

function withoutHopByHop(headers: IncomingHttpHeaders): OutgoingHttpHeaders {
  const forwarded: OutgoingHttpHeaders = { ...headers };
  for (const name of HOP_BY_HOP_HEADERS) delete forwarded[name];
  return forwarded;
}

function isFormRequest(headers: IncomingHttpHeaders): boolean {
  return (headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
}

async function readWholeBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of req) {
    const buffer = Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk));
    length += buffer.length;
    if (length > MAX_PEEKED_BODY_BYTES) {
      throw new EdgeRoutingError(
        'RequestEntityTooLarge',
        'Request body is too large for the local edge.',
        413,
      );
    }
    chunks.push(buffer);
  }
  return Buffer.concat(chunks);
}

const QUEUE_URL_OPERATIONS = new Set([
  'AmazonSQS.CreateQueue',
  'AmazonSQS.GetQueueUrl',
  'AmazonSQS.ListQueues',
  'AmazonSQS.ListDeadLetterSourceQueues',
]);

function answersWithQueueUrls(headers: IncomingHttpHeaders): boolean {
  const target = headers['x-amz-target'];
  return typeof target === 'string' && QUEUE_URL_OPERATIONS.has(target);
}

function clientOrigin(req: IncomingMessage, fallback: URL): string {
  return `http://${req.headers.host ?? fallback.host}`;
}

function atOrigin(queueUrl: unknown, origin: string): unknown {
  if (typeof queueUrl !== 'string') return queueUrl;
  try {
    return `${origin}${new URL(queueUrl).pathname}`;
  } catch {
    return queueUrl;
  }
}

/** Rewrites `QueueUrl` / `QueueUrls` of an SQS JSON answer; anything else passes through untouched. */
function withQueueUrlsAt(body: Buffer, origin: string): Buffer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body.toString('utf8'));
  } catch {
    return body;
  }
  if (typeof parsed !== 'object' || parsed === null) return body;
  const answer = parsed as Record<string, unknown>;
  if ('QueueUrl' in answer) answer.QueueUrl = atOrigin(answer.QueueUrl, origin);
  if (Array.isArray(answer.QueueUrls)) {
    answer.QueueUrls = answer.QueueUrls.map((url) => atOrigin(url, origin));
  }
  return Buffer.from(JSON.stringify(answer));
}

/** A request whose body was already read, re-readable by an in-process handler as if untouched. */
function replayRequest(original: IncomingMessage, body: Buffer): IncomingMessage {
  const replay = new IncomingMessage(original.socket);
  replay.method = original.method;
  replay.url = original.url;
  replay.headers = original.headers;
  replay.rawHeaders = original.rawHeaders;
  replay.httpVersion = original.httpVersion;
  replay.push(body);
  replay.push(null);
  // Otherwise destroying the replay when it has been read counts as an abort and takes the socket down.
  replay.complete = true;
  return replay;
}

/**
 * One endpoint for the whole local stack, like LocalStack's :4566. Each request goes to the service
 * named in its SigV4 credential scope (see `serviceFromRequest`). Signatures are NOT verified: this is
 * a local development endpoint, and clients sign with dummy credentials.
 */
export async function startEdge(options: EdgeOptions): Promise<EdgeServer> {
  const routes = new Map<string, ResolvedRoute>();
  for (const [service, route] of Object.entries(options.routes)) {
    if (route !== undefined) routes.set(service, resolveRoute(route, service));
  }
  const adminRoutes = Object.entries(options.adminRoutes ?? {})
    .map(([prefix, route]) => ({ prefix, route: resolveRoute(route, prefix) }))
    .sort((a, b) => b.prefix.length - a.prefix.length);

  // Reused connections to the upstreams; destroyed on close so nothing keeps the process alive.
  const agent = new Agent({ keepAlive: true });

  async function proxy(
    req: IncomingMessage,
    res: ServerResponse,
    upstream: ResolvedUpstream,
    bufferedBody: Buffer | undefined,
  ): Promise<void> {
    const basePath = upstream.base.pathname.replace(/\/$/, '');
    const headers = withoutHopByHop(req.headers);
    headers.host = upstream.base.host;
    const rewriteQueueUrls = upstream.rewriteQueueUrls && answersWithQueueUrls(req.headers);
    if (bufferedBody !== undefined) {
      delete headers['transfer-encoding'];
      headers['content-length'] = String(bufferedBody.length);
    }

    await new Promise<void>((resolve, reject) => {
      const upstreamRequest = httpRequest({
        agent,
        hostname: upstream.base.hostname,
        port: upstream.base.port,
        method: req.method,
        path: `${basePath}${req.url ?? '/'}`,
        headers,
      });
      // A client that gives up (e.g. during an SQS long poll) must not leave the upstream call running.
      res.on('close', () => {
        if (!res.writableFinished) upstreamRequest.destroy();
      });
      upstreamRequest.on('error', (error) => {
        reject(
          new EdgeRoutingError(
            'EdgeUpstreamUnavailable',
            `Upstream ${upstream.base.origin} failed: ${error.message}`,
            502,
          ),
        );
      });
      upstreamRequest.on('response', (upstreamResponse) => {
        const status = upstreamResponse.statusCode ?? 502;
        const responseHeaders = withoutHopByHop(upstreamResponse.headers);
        if (
          rewriteQueueUrls &&
          status === 200 &&
          upstreamResponse.headers['content-encoding'] === undefined
        ) {
          readWholeBody(upstreamResponse)
            .then((body) => {
              const rewritten = withQueueUrlsAt(body, clientOrigin(req, upstream.base));
              delete responseHeaders['transfer-encoding'];
              responseHeaders['content-length'] = String(rewritten.length);
              res.writeHead(status, upstreamResponse.statusMessage, responseHeaders);
              res.end(rewritten, resolve);
            })
            .catch(reject);
          return;
        }
        res.writeHead(status, upstreamResponse.statusMessage, responseHeaders);
        pipeline(upstreamResponse, res).then(resolve, reject);
      });
      if (bufferedBody === undefined) {
        pipeline(req, upstreamRequest).catch(reject);
      } else {
        upstreamRequest.end(bufferedBody);
      }
    });
  }

  async function dispatch(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const admin = adminRoutes.find(({ prefix }) => path.startsWith(prefix));
    let route: ResolvedRoute | undefined = admin?.route;
    let bufferedBody: Buffer | undefined;

    if (route === undefined) {
      if (path.startsWith(EMULATOR_PATH_PREFIX)) {
        throw new EdgeRoutingError('EdgeRouteNotFound', `No emulator admin route serves ${path}.`, 404);
      }
      let service = serviceFromRequest(req.headers, req.url ?? '/');
      // Only an unsigned form POST needs its body read to be routed (the SQS query protocol).
      if (service === undefined && isFormRequest(req.headers)) {
        bufferedBody = await readWholeBody(req);
        service = serviceFromRequest(req.headers, req.url ?? '/', bufferedBody.toString('utf8'));
      }
      if (service === undefined) {
        throw new EdgeRoutingError(
          'EdgeUnknownService',
          'The local edge could not tell which AWS service this request is for: sign it with SigV4 (any credentials).',
          400,
        );
      }
      route = routes.get(service);
      if (route === undefined) {
        const served = [...routes.keys()].join(', ');
        const known = isEdgeService(service) ? 'is not running in' : 'is not served by';
        throw new EdgeRoutingError(
          'EdgeUnknownService',
          `Service '${service}' ${known} the local edge (it serves: ${served}).`,
          400,
        );
      }
    }

    if ('handler' in route) {
      await route.handler(bufferedBody === undefined ? req : replayRequest(req, bufferedBody), res);
    } else {
      await proxy(req, res, route.upstream, bufferedBody);
    }
  }

  const server = createServer((req, res) => {
    dispatch(req, res).catch((error: unknown) => {
      const routingError =
        error instanceof EdgeRoutingError
          ? error
          : new EdgeRoutingError(
              'EdgeInternalError',
              `The local edge failed: ${error instanceof Error ? error.message : String(error)}`,
              500,
            );
      sendEdgeError(res, routingError);
    });
  });

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 4566, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    port,
    async close() {
      const closed = new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
      });
      // Idle keep-alive sockets (SDK connection pools) would otherwise hold the port until they time out.
      server.closeAllConnections();
      agent.destroy();
      await closed;
    },
  };
}
