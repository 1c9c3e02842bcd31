export {
  createOpenSearchEmulator,
  EMULATOR_ADMIN_PREFIX,
  type EmulatorRuntimeSettings,
  type OpenSearchEmulator,
  type OpenSearchEmulatorOptions,
  type OpenSearchEmulatorState,
} from './emulator.ts';
export { CONNECTION_RESET_FAULT, InvalidEmulatorConfigError, LOST_ANSWER_FAULT } from './faults.ts';
export type { CallCount, ErrorDetails, FaultRule, LatencySetting, OperationName } from './model.ts';
export { OPERATION_NAMES, OPERATIONS_WITH_DOMAIN, OPERATIONS_WITH_PACKAGE } from './model.ts';
export type { RateLimit } from './rate-limit.ts';
export { DEFAULT_SEED_PATH, InvalidSeedError, loadSeed, type SeedData } from './seed.ts';
export {
  type OpenSearchEmulatorServer,
  type OpenSearchEmulatorServerOptions,
  startOpenSearchEmulatorServer,
} from './server.ts';
export type { InjectedFailures } from './store.ts';
