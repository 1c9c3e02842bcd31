/**
 * Runs dynalite on a thread of its own (see `startDynalite`): it reports its port, and closes its server
 * when told to, reports how that went, then lets the thread end.
 */
import type { AddressInfo } from 'node:net';
import { parentPort, workerData } from 'node:worker_threads';
import dynalite from 'dynalite';

const { path } = workerData as { path?: string };
const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0, ...(path && { path }) });
server.listen(0, '127.0.0.1', () => {
  parentPort?.postMessage({ port: (server.address() as AddressInfo).port });
});
parentPort?.once('message', () => {
  server.closeAllConnections();
  // LevelDB can fail to close a kept data folder: the parent's close() reports it.
  server.close((error) => {
    parentPort?.postMessage({ closeError: error?.message });
    parentPort?.close();
  });
});
