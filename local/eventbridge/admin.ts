import type { IncomingMessage, ServerResponse } from 'node:http';
import { EventBridgeApiError, EventBridgeConfigError } from './errors.ts';
import { type EventBridgeFaults, FAULT_FIELDS } from './faults.ts';
import { readJsonBody, send } from './http.ts';
import type { EventEnvelope } from './put-events.ts';
import { isRecord } from './validation.ts';

export const EMULATOR_ADMIN_PREFIX = '/_emulator/events/';

/** What the admin routes read and change. */
export interface AdminContext {
  published(eventBusName?: string): EventEnvelope[];
  stats(): unknown;
  faults(): Required<EventBridgeFaults>;
  setFaults(faults: EventBridgeFaults): void;
  reset(): void;
}

async function putFaults(req: IncomingMessage, context: AdminContext): Promise<Required<EventBridgeFaults>> {
  const body = await readJsonBody(req);
  if (!isRecord(body)) throw new EventBridgeConfigError('The faults body must be a JSON object');
  const unknown = Object.keys(body).filter((key) => !FAULT_FIELDS.includes(key));
  if (unknown.length > 0) {
    throw new EventBridgeConfigError(
      `Unknown fault field ${unknown.join(', ')}; the fields are ${FAULT_FIELDS.join(', ')}`,
    );
  }
  context.setFaults(body as EventBridgeFaults);
  return context.faults();
}

/** `/_emulator/events/{published,stats,faults,reset}`: JSON in and out, a bad body answered 400. */
export async function handleAdmin(
  req: IncomingMessage,
  res: ServerResponse,
  url: URL,
  context: AdminContext,
): Promise<void> {
  const json = { 'content-type': 'application/json' };
  const route = `${req.method ?? 'GET'} ${url.pathname.slice(EMULATOR_ADMIN_PREFIX.length)}`;
  try {
    switch (route) {
      case 'GET published':
        return send(res, 200, json, {
          events: context.published(url.searchParams.get('eventBusName') ?? undefined),
        });
      case 'GET stats':
        return send(res, 200, json, context.stats());
      case 'GET faults':
        return send(res, 200, json, context.faults());
      case 'POST faults':
      case 'PUT faults':
        return send(res, 200, json, await putFaults(req, context));
      case 'DELETE faults':
        context.setFaults({});
        return send(res, 200, json, context.faults());
      case 'POST reset':
        context.reset();
        return send(res, 204, {}, undefined);
      default:
        return send(res, 404, json, { message: `No emulator admin route ${route}` });
    }
  } catch (error) {
    if (error instanceof EventBridgeConfigError || error instanceof EventBridgeApiError) {
      return send(res, 400, json, { message: error.message });
    }
    throw error;
  }
}
