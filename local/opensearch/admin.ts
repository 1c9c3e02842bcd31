import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import type { EmulatorRuntimeSettings, OpenSearchEmulator } from './emulator.ts';
import { faultRulesSchema, InvalidEmulatorConfigError, latencySettingSchema } from './faults.ts';
import { DOMAIN_NAME_PATTERN, type ErrorDetails, PACKAGE_ID_PATTERN } from './model.ts';
import { rateLimitSchema } from './rate-limit.ts';
import { EmulatorApiError, parseJsonObject, readBody, sendJson } from './wire.ts';

const durationMs = z.int().min(0).max(3_600_000);

const runtimeSettingsSchema = z.strictObject({
  associationDelayMs: durationMs.optional(),
  pluginAssociationDelayMs: durationMs.nullable().optional(),
  packageCopyMs: durationMs.optional(),
  packageValidationMs: durationMs.optional(),
  conflictOnConcurrentOperations: z.boolean().optional(),
  rateLimit: rateLimitSchema.optional(),
});

export function parseRuntimeSettings(settings: unknown): EmulatorRuntimeSettings {
  return parseWith(runtimeSettingsSchema, settings);
}

const errorDetailsSchema = z.strictObject({ ErrorType: z.string().min(1), ErrorMessage: z.string().min(1) });

/** `true` fails with the default details, an object with its own, `false` stops failing. */
const failureSchema = z.union([z.boolean(), errorDetailsSchema]);

const faultsBodySchema = z.strictObject({ faults: faultRulesSchema });
const latencyBodySchema = z.strictObject({ latencyMs: latencySettingSchema });
const domainBodySchema = z.strictObject({ processingForMs: durationMs });
const packageBodySchema = z.strictObject({ failValidation: failureSchema });
const domainPackageBodySchema = z
  .strictObject({ failAssociation: failureSchema.optional(), failDissociation: failureSchema.optional() })
  .refine((body) => body.failAssociation !== undefined || body.failDissociation !== undefined, {
    message: 'give failAssociation, failDissociation or both',
  });

function failureDetails(
  failure: z.infer<typeof failureSchema> | undefined,
  defaults: ErrorDetails,
): ErrorDetails | undefined {
  if (failure === undefined || failure === false) return undefined;
  return failure === true ? defaults : failure;
}

function parseWith<T>(schema: z.ZodType<T>, value: unknown): T {
  const result = schema.safeParse(value);
  if (!result.success) throw new InvalidEmulatorConfigError(z.prettifyError(result.error));
  return result.data;
}

const parseBody = <T>(schema: z.ZodType<T>, rawBody: string): T =>
  parseWith(schema, parseJsonObject(rawBody));

const DOMAIN_ROUTE = /^domains\/(?<domain>[^/]+)$/;
const PACKAGE_ROUTE = /^packages\/(?<pkg>[^/]+)$/;
const DOMAIN_PACKAGE_ROUTE = /^domains\/(?<domain>[^/]+)\/packages\/(?<pkg>[^/]+)$/;

function checked(label: string, pattern: RegExp, what: string): string {
  let value = label;
  try {
    value = decodeURIComponent(label);
  } catch {
    // Not percent-encoding: checked as written, and refused by the pattern.
  }
  if (!pattern.test(value))
    throw new InvalidEmulatorConfigError(`${what} "${value}" must match ${pattern.source}`);
  return value;
}

const domainName = (value: string) => checked(value, DOMAIN_NAME_PATTERN, 'domain name');
const packageId = (value: string) => checked(value, PACKAGE_ID_PATTERN, 'package id');

/** The routes that name a domain or a package: `PUT` only, each answering the state. */
function handleResourceRoute(emulator: OpenSearchEmulator, action: string, rawBody: string): boolean {
  const domainPackage = DOMAIN_PACKAGE_ROUTE.exec(action)?.groups;
  if (domainPackage?.domain !== undefined && domainPackage.pkg !== undefined) {
    const body = parseBody(domainPackageBodySchema, rawBody);
    emulator.setDomainPackageFailures(domainName(domainPackage.domain), packageId(domainPackage.pkg), {
      ...(body.failAssociation !== undefined && {
        association: failureDetails(body.failAssociation, {
          ErrorType: 'AssociationFailed',
          ErrorMessage: 'Injected association failure',
        }),
      }),
      ...(body.failDissociation !== undefined && {
        dissociation: failureDetails(body.failDissociation, {
          ErrorType: 'DissociationFailed',
          ErrorMessage: 'Injected dissociation failure',
        }),
      }),
    });
    return true;
  }
  const domain = DOMAIN_ROUTE.exec(action)?.groups?.domain;
  if (domain !== undefined) {
    emulator.setDomainProcessing(domainName(domain), parseBody(domainBodySchema, rawBody).processingForMs);
    return true;
  }
  const pkg = PACKAGE_ROUTE.exec(action)?.groups?.pkg;
  if (pkg !== undefined) {
    const { failValidation } = parseBody(packageBodySchema, rawBody);
    emulator.setValidationFailure(
      packageId(pkg),
      failureDetails(failValidation, {
        ErrorType: 'ValidationFailed',
        ErrorMessage: 'Injected validation failure',
      }),
    );
    return true;
  }
  return false;
}

/** Answers one `/_emulator/opensearch/` route; `action` is the path after that prefix. */
export async function handleAdmin(
  emulator: OpenSearchEmulator,
  req: IncomingMessage,
  res: ServerResponse,
  action: string,
): Promise<void> {
  const rawBody = await readBody(req);
  const route = `${req.method} ${action}`;
  try {
    switch (route) {
      case 'GET state':
        sendJson(res, 200, emulator.state());
        return;
      case 'GET call-counts':
        sendJson(res, 200, emulator.callCounts());
        return;
      case 'GET faults':
        sendJson(res, 200, { faults: emulator.getFaults() });
        return;
      case 'POST faults':
      case 'PUT faults':
        emulator.setFaults(parseBody(faultsBodySchema, rawBody).faults);
        sendJson(res, 200, { faults: emulator.getFaults() });
        return;
      case 'DELETE faults':
        emulator.setFaults([]);
        sendJson(res, 200, { faults: [] });
        return;
      case 'POST latency':
        emulator.setLatency(parseBody(latencyBodySchema, rawBody).latencyMs);
        sendJson(res, 200, { latencyMs: emulator.state().latencyMs });
        return;
      case 'POST config':
        emulator.configure(parseRuntimeSettings(parseJsonObject(rawBody)));
        sendJson(res, 200, emulator.state());
        return;
      case 'POST reset':
        emulator.reset();
        sendJson(res, 200, emulator.state());
        return;
    }
    if (req.method === 'PUT' && handleResourceRoute(emulator, action, rawBody)) {
      sendJson(res, 200, emulator.state());
      return;
    }
    sendJson(res, 404, { message: `No emulator admin route ${route}` });
  } catch (error) {
    if (error instanceof EmulatorApiError && error.errorType === 'ResourceNotFoundException') {
      sendJson(res, 404, { message: error.message });
      return;
    }
    if (error instanceof InvalidEmulatorConfigError || error instanceof EmulatorApiError) {
      sendJson(res, 400, { message: error.message });
      return;
    }
    throw error;
  }
}
