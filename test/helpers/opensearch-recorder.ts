import { createServer, request as httpRequest, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { OperationName } from '../../local/opensearch/index.ts';
import { matchRoute } from '../../local/opensearch/operations.ts';

/** One OpenSearch call the handlers made: when it went out, when its answer came back, and what it named. */
export interface RecordedCall {
  operation: OperationName | 'Unknown';
  domainName?: string;
  packageId?: string;
  sentAt: number;
  /** Unset while the call is in flight. */
  answeredAt?: number;
  status?: number;
}

export interface OpenSearchRecorder {
  /** Give this to the handlers as `AWS_ENDPOINT_URL_OPENSEARCH`. */
  url: string;
  /** Where calls go on to; set once the stack's endpoint is known. */
  forwardTo(upstream: string): void;
  calls(filter?: Partial<Pick<RecordedCall, 'operation' | 'domainName' | 'packageId'>>): RecordedCall[];
  close(): Promise<void>;
}

/**
 * A pass-through proxy in front of the stack's OpenSearch emulator that writes down every call with its
 * domain, package and times. The emulator counts calls only per operation, across every domain; tests that
 * run side by side on different domains need the calls of their own domain, and the order of two requests'
 * calls on one domain.
 */
export async function startOpenSearchRecorder(): Promise<OpenSearchRecorder> {
  const recorded: RecordedCall[] = [];
  let upstream: URL | undefined;
  const server = createServer((req, res) => {
    if (upstream === undefined) {
      res.writeHead(503).end();
      return;
    }
    forward(upstream, req, res, (call) => recorded.push(call));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    forwardTo(target) {
      upstream = new URL(target);
    },
    calls(filter = {}) {
      return recorded.filter((call) =>
        Object.entries(filter).every(([name, value]) => call[name as keyof RecordedCall] === value),
      );
    },
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

function forward(
  upstream: URL,
  req: IncomingMessage,
  res: ServerResponse,
  record: (call: RecordedCall) => void,
): void {
  const url = new URL(req.url ?? '/', upstream);
  const route = matchRoute(req.method ?? 'GET', url.pathname);
  const call: RecordedCall = {
    operation: route?.operation ?? 'Unknown',
    ...(route?.params.DomainName !== undefined && { domainName: route.params.DomainName }),
    ...(route?.params.PackageID !== undefined && { packageId: route.params.PackageID }),
    sentAt: Date.now(),
  };
  record(call);
  const out = httpRequest(
    url,
    { method: req.method, headers: { ...req.headers, host: upstream.host } },
    (answer) => {
      call.answeredAt = Date.now();
      call.status = answer.statusCode ?? 0;
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    },
  );
  // A reset upstream is a reset here too: the SDK must see what it would have seen without the proxy.
  out.on('error', () => req.socket.destroy());
  req.pipe(out);
}
