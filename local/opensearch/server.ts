import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createOpenSearchEmulator,
  type OpenSearchEmulator,
  type OpenSearchEmulatorOptions,
} from './emulator.ts';

export interface OpenSearchEmulatorServerOptions extends OpenSearchEmulatorOptions {
  /** Default 0: a free port chosen by the OS. */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
}

export interface OpenSearchEmulatorServer {
  /** Base URL to use as the SDK's `endpoint`, e.g. `http://127.0.0.1:40123`. */
  url: string;
  emulator: OpenSearchEmulator;
  close(): Promise<void>;
}

/** Serves the emulator alone on its own port; the local stack mounts `handle` behind its edge router instead. */
export async function startOpenSearchEmulatorServer(
  options: OpenSearchEmulatorServerOptions = {},
): Promise<OpenSearchEmulatorServer> {
  const { port = 0, host = '127.0.0.1', ...emulatorOptions } = options;
  const emulator = createOpenSearchEmulator(emulatorOptions);
  const server = createServer((req, res) => {
    void emulator.handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const urlHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  return {
    url: `http://${urlHost}:${address.port}`,
    emulator,
    close: async () => {
      emulator.close();
      // SDK clients keep connections alive; without this, close() would wait for them to time out.
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };
}
