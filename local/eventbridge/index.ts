export {
  createEventBridgeEmulator,
  type DeliveryTarget,
  EMULATOR_ADMIN_PREFIX,
  type EventBridgeEmulator,
  type EventBridgeEmulatorOptions,
  type EventBridgeFaults,
  type EventBridgeStats,
  type QueueDelivery,
} from './emulator.ts';
export { EventBridgeApiError, EventBridgeConfigError } from './errors.ts';
export { compileEventPattern, InvalidEventPatternError, matchesEventPattern } from './pattern.ts';
export { DEFAULT_EVENT_BUS, type EventEnvelope, eventBusArn } from './put-events.ts';
export type { QueueRef } from './targets.ts';
