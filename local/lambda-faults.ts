/**
 * `/_emulator/lambda/`: the runners' injected crashes and timeouts, per function, read and set at run time.
 * A crash strikes after the handler ran (its side effects happened) and before anything is deleted; a timeout
 * strikes at a random point during or after the handler. Either way the batch comes back after its visibility
 * timeout, as it would from Lambda.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import * as z from 'zod';
import { AdminInputError, adminHandler, parseAdminBody, sendAdminJson } from './admin-json.ts';
import {
  type QueueRunner,
  QueueRunnerConfigError,
  type RunnerFaultRates,
  type RunnerStats,
  validateFaultRates,
} from './runner.ts';

export const LAMBDA_ADMIN_PREFIX = '/_emulator/lambda/';

const rateSchema = z.number().min(0).max(1);
const ratesSchema = z.strictObject({ crashRate: rateSchema.optional(), timeoutRate: rateSchema.optional() });

/**
 * Serves `GET|PUT|POST|DELETE faults` and `GET stats` for `runners`, keyed by the function's name in
 * serverless.yml (e.g. `associatePackage`). PUT and POST change only the functions and rates they name.
 */
export function lambdaAdminHandler(
  runners: Readonly<Record<string, QueueRunner>>,
): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  const names = Object.keys(runners);
  const bodySchema = z.strictObject(Object.fromEntries(names.map((name) => [name, ratesSchema.optional()])));
  const each = <T>(read: (runner: QueueRunner) => T): Record<string, T> =>
    Object.fromEntries(Object.entries(runners).map(([name, runner]) => [name, read(runner)]));
  const rates = () => each((runner) => runner.faultRates());

  const setFromBody = (res: ServerResponse, raw: string) => {
    const changes = parseAdminBody(bodySchema, raw) as Record<string, Partial<RunnerFaultRates> | undefined>;
    const next: Record<string, RunnerFaultRates> = {};
    for (const [name, change] of Object.entries(changes)) {
      const runner = runners[name];
      if (change === undefined || runner === undefined) continue;
      const merged = { ...runner.faultRates(), ...change };
      try {
        validateFaultRates(merged);
      } catch (error) {
        if (error instanceof QueueRunnerConfigError) throw new AdminInputError(`${name}: ${error.message}`);
        throw error;
      }
      next[name] = merged;
    }
    // Every function's change is checked before any is applied.
    for (const [name, merged] of Object.entries(next)) runners[name]?.setFaultRates(merged);
    sendAdminJson(res, 200, rates());
  };

  return adminHandler(LAMBDA_ADMIN_PREFIX, {
    'GET faults': (_req, res) => sendAdminJson(res, 200, rates()),
    'PUT faults': (_req, res, raw) => setFromBody(res, raw),
    'POST faults': (_req, res, raw) => setFromBody(res, raw),
    'DELETE faults': (_req, res) => {
      for (const runner of Object.values(runners)) runner.setFaultRates({ crashRate: 0, timeoutRate: 0 });
      sendAdminJson(res, 200, rates());
    },
    'GET stats': (_req, res) =>
      sendAdminJson(
        res,
        200,
        each((runner): RunnerStats => runner.stats()),
      ),
  });
}
