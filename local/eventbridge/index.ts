export {
  createEventBridgeEmulator,
  EMULATOR_ADMIN_PREFIX,
  type EventBridgeEmulator,
  type EventBridgeEmulatorOptions,
  type EventBridgeFaults,
  type EventBridgeStats,
  type EventPattern,
  type EventRule,
} from './emulator.ts';
export { EventBridgeApiError, EventBridgeConfigError } from './errors.ts';
export { DEFAULT_EVENT_BUS, type EventEnvelope, eventBusArn } from './put-events.ts';
