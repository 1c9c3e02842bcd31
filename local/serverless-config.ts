/**
 * Reads `serverless.yml` the way the local stack needs it: which handler each function runs, with which
 * timeout, and which SQS event source mapping settings; and how each queue is configured. It is not a
 * Serverless Framework implementation: only the CloudFormation short-form tags and the simple variable
 * sources (`param`, `self`, `sls:stage`, `opt:stage`, `env`) are understood, everything else is kept as-is.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { type CollectionTag, isNode, parseDocument, type ScalarTag, visit } from 'yaml';

export class ServerlessConfigError extends Error {
  override name = 'ServerlessConfigError';
}

export interface SqsEventSourceSettings {
  queueLogicalId: string;
  batchSize: number;
  maximumBatchingWindowSeconds: number;
  maximumConcurrency: number;
  reportBatchItemFailures: boolean;
}

export interface FunctionSettings {
  /** Path of the handler module relative to the directory of serverless.yml, e.g. `src/handlers/x.ts`. */
  handlerModule: string;
  /** Absolute path of the same module, for callers whose cwd is not the project root. */
  handlerModulePath: string;
  handlerExport: string;
  timeoutSeconds: number;
  memorySize: number;
  /** provider.environment merged with the function's own; values that are still intrinsics stay objects. */
  environment: Record<string, unknown>;
  /** The first SQS event of the function (the service wires one queue per function). */
  sqs: SqsEventSourceSettings;
}

export interface QueueSettings {
  queueName?: string;
  visibilityTimeout?: number;
  maxReceiveCount?: number;
  deadLetterLogicalId?: string;
  messageRetentionPeriod?: number;
  maximumMessageSize?: number;
  delaySeconds?: number;
  fifoQueue?: boolean;
}

export interface LoadOptions {
  /** Stage used for `${param:x}` lookups and `${sls:stage}`; defaults to provider.stage, then `dev`. */
  stage?: string;
}

// Defaults of the Serverless Framework and of the Lambda SQS event source mapping.
// https://docs.aws.amazon.com/lambda/latest/dg/services-sqs-configure.html
const DEFAULT_TIMEOUT_SECONDS = 6;
const DEFAULT_MEMORY_SIZE = 1024;
const DEFAULT_BATCH_SIZE = 10;
// Unset MaximumConcurrency means "no limit" in AWS; locally that would mean unbounded workers, so use the
// number of pollers Lambda starts with.
const DEFAULT_MAXIMUM_CONCURRENCY = 5;
const MAX_VARIABLE_DEPTH = 10;
const HANDLER_EXTENSIONS = ['.ts', '.mts', '.js', '.mjs', '.cjs'];

type Json = Record<string, unknown>;

function isRecord(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `!Ref X` → `{ Ref: X }`, `!GetAtt A.B` → `{ 'Fn::GetAtt': ['A', 'B'] }`, `!Sub s` → `{ 'Fn::Sub': s }`. */
function intrinsicKey(tagName: string): string {
  return tagName === 'Ref' || tagName === 'Condition' ? tagName : `Fn::${tagName}`;
}

function intrinsicTags(tag: string): Array<ScalarTag | CollectionTag> {
  const key = intrinsicKey(tag.slice(1));
  const scalar: ScalarTag = {
    tag,
    resolve: (value) => {
      if (key === 'Fn::GetAtt') {
        const dot = value.indexOf('.');
        return { [key]: dot === -1 ? [value] : [value.slice(0, dot), value.slice(dot + 1)] };
      }
      return { [key]: value };
    },
  };
  const collection = (kind: 'seq' | 'map'): CollectionTag => ({
    tag,
    collection: kind,
    resolve: (node) => ({ [key]: node.toJSON() }),
  });
  return [scalar, collection('seq'), collection('map')];
}

/**
 * Tags are collected in a first pass so that any `!Name` works, including ones CloudFormation adds later,
 * without a hard-coded list.
 */
function parseYamlWithIntrinsics(text: string, path: string): unknown {
  const probe = parseDocument(text, { uniqueKeys: false });
  const localTags = new Set<string>();
  visit(probe, (_key, node) => {
    if (
      isNode(node) &&
      typeof node.tag === 'string' &&
      node.tag.startsWith('!') &&
      !node.tag.startsWith('!!')
    ) {
      localTags.add(node.tag);
    }
  });
  const document = parseDocument(text, {
    customTags: [...localTags].flatMap(intrinsicTags),
    merge: true,
    uniqueKeys: false,
  });
  const firstError = document.errors[0];
  if (firstError) {
    throw new ServerlessConfigError(`${path}: ${firstError.message}`);
  }
  return document.toJS({ maxAliasCount: -1 });
}

interface VariableContext {
  raw: Json;
  stage: string;
}

function getPath(root: unknown, address: string): unknown {
  let current: unknown = root;
  for (const segment of address.split('.')) {
    if (!isRecord(current) && !Array.isArray(current)) return undefined;
    current = (current as Record<string, unknown>)[segment];
  }
  return current;
}

/** Splits `a, 'b, c', d` at top-level commas, keeping quoted fallbacks intact. */
function splitFallbacks(expression: string): string[] {
  const parts: string[] = [];
  let current = '';
  let quote: string | undefined;
  for (const char of expression) {
    if (quote) {
      current += char;
      if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') {
      quote = char;
      current += char;
    } else if (char === ',') {
      parts.push(current.trim());
      current = '';
    } else {
      current += char;
    }
  }
  parts.push(current.trim());
  return parts;
}

function resolveSource(part: string, ctx: VariableContext, depth: number): unknown {
  const quoted = /^(['"])(.*)\1$/s.exec(part);
  if (quoted) return quoted[2];
  if (/^-?\d+(\.\d+)?$/.test(part)) return Number(part);
  if (part === 'true' || part === 'false') return part === 'true';
  const colon = part.indexOf(':');
  if (colon === -1) return undefined;
  const source = part.slice(0, colon);
  const address = part.slice(colon + 1);
  switch (source) {
    case 'param': {
      const params = ctx.raw.params;
      const value = getPath(params, `${ctx.stage}.${address}`) ?? getPath(params, `default.${address}`);
      return value === undefined ? undefined : resolveValue(value, ctx, depth + 1);
    }
    case 'self': {
      const value = getPath(ctx.raw, address);
      return value === undefined ? undefined : resolveValue(value, ctx, depth + 1);
    }
    case 'sls':
    case 'opt':
      return address === 'stage' ? ctx.stage : undefined;
    case 'env':
      return process.env[address];
    default:
      return undefined;
  }
}

function resolveExpression(expression: string, ctx: VariableContext, depth: number): unknown {
  for (const part of splitFallbacks(expression)) {
    const value = resolveSource(part, ctx, depth);
    if (value !== undefined && value !== null) return value;
  }
  return undefined;
}

// Innermost variables first, so `${param:x, ${self:custom.y}}` resolves the inner one before the outer one.
const INNERMOST_VARIABLE = /\$\{([^${}]*)\}/g;
const WHOLE_VARIABLE = /^\$\{([^${}]*)\}$/;

function resolveString(text: string, ctx: VariableContext, depth: number): unknown {
  if (depth > MAX_VARIABLE_DEPTH) return text;
  let current = text;
  for (let pass = 0; pass < MAX_VARIABLE_DEPTH; pass += 1) {
    const whole = WHOLE_VARIABLE.exec(current);
    if (whole) {
      // A value that is exactly one variable keeps the type of what it points to (numbers, objects).
      const value = resolveExpression(whole[1] ?? '', ctx, depth);
      return value === undefined ? current : value;
    }
    const next = current.replace(INNERMOST_VARIABLE, (match, expression: string) => {
      const value = resolveExpression(expression, ctx, depth);
      return typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean'
        ? String(value)
        : match;
    });
    if (next === current) return current;
    current = next;
  }
  return current;
}

function resolveValue(value: unknown, ctx: VariableContext, depth: number): unknown {
  if (typeof value === 'string') return resolveString(value, ctx, depth);
  if (Array.isArray(value)) return value.map((item) => resolveValue(item, ctx, depth));
  if (isRecord(value)) {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveValue(item, ctx, depth)]),
    );
  }
  return value;
}

/** Parses serverless.yml and resolves the variables it can; the result is plain JSON-like data. */
export function loadServerlessConfig(path = 'serverless.yml', options: LoadOptions = {}): Json {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ServerlessConfigError(`cannot read ${path}: ${reason}`);
  }
  const raw = parseYamlWithIntrinsics(text, path);
  if (!isRecord(raw)) {
    throw new ServerlessConfigError(`${path}: the document is not a mapping`);
  }
  const provider = isRecord(raw.provider) ? raw.provider : {};
  const providerStage =
    typeof provider.stage === 'string' && !provider.stage.includes('${') ? provider.stage : 'dev';
  const resolved = resolveValue(raw, { raw, stage: options.stage ?? providerStage }, 0);
  return resolved as Json;
}

function toNumber(value: unknown, fallback: number, field: string): number;
function toNumber(value: unknown, fallback: undefined, field: string): number | undefined;
function toNumber(value: unknown, fallback: number | undefined, field: string): number | undefined {
  if (value === undefined || value === null) return fallback;
  const parsed = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : Number.NaN;
  if (!Number.isFinite(parsed)) {
    throw new ServerlessConfigError(`${field} must be a number, got ${JSON.stringify(value)}`);
  }
  return parsed;
}

/** `{ 'Fn::GetAtt': [Id, 'Arn'] }`, `{ Ref: Id }` → `Id`. */
function logicalIdOf(reference: unknown): string | undefined {
  if (!isRecord(reference)) return undefined;
  const getAtt = reference['Fn::GetAtt'];
  if (Array.isArray(getAtt) && typeof getAtt[0] === 'string') return getAtt[0];
  if (typeof getAtt === 'string') return getAtt.split('.')[0];
  if (typeof reference.Ref === 'string') return reference.Ref;
  return undefined;
}

function resourcesOf(config: Json): Json {
  const resources = isRecord(config.resources) ? config.resources.Resources : undefined;
  return isRecord(resources) ? resources : {};
}

/** A literal queue ARN is matched to the queue resource with that QueueName, else named after the queue. */
function queueLogicalIdFromArn(arn: string, resources: Json): string {
  const queueName = arn.split(':').at(-1) ?? arn;
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (isRecord(resource) && isRecord(resource.Properties) && resource.Properties.QueueName === queueName) {
      return logicalId;
    }
  }
  return queueName;
}

function resolveHandlerModule(handler: string, baseDir: string): { module: string; exportName: string } {
  const dot = handler.lastIndexOf('.');
  if (dot <= 0) {
    throw new ServerlessConfigError(`handler "${handler}" must look like path/to/module.exportName`);
  }
  const base = handler.slice(0, dot);
  const exportName = handler.slice(dot + 1);
  const extension = HANDLER_EXTENSIONS.find((candidate) => existsSync(join(baseDir, base + candidate)));
  // The handler file may not exist yet (or be built elsewhere); the project's handlers are TypeScript.
  return { module: base + (extension ?? '.ts'), exportName };
}

function sqsSettingsOf(name: string, fn: Json, resources: Json): SqsEventSourceSettings | undefined {
  const events = Array.isArray(fn.events) ? fn.events : [];
  const sqsEvent = events.find((event) => isRecord(event) && event.sqs !== undefined);
  if (!isRecord(sqsEvent)) return undefined;
  const sqs: Json =
    typeof sqsEvent.sqs === 'string' ? { arn: sqsEvent.sqs } : isRecord(sqsEvent.sqs) ? sqsEvent.sqs : {};
  const field = (key: string) => `functions.${name}.events.sqs.${key}`;
  const queueLogicalId =
    typeof sqs.arn === 'string' ? queueLogicalIdFromArn(sqs.arn, resources) : logicalIdOf(sqs.arn);
  if (!queueLogicalId) {
    throw new ServerlessConfigError(`${field('arn')} must be a queue ARN, !GetAtt <Queue>.Arn or !Ref`);
  }
  return {
    queueLogicalId,
    batchSize: toNumber(sqs.batchSize, DEFAULT_BATCH_SIZE, field('batchSize')),
    maximumBatchingWindowSeconds: toNumber(sqs.maximumBatchingWindow, 0, field('maximumBatchingWindow')),
    maximumConcurrency: toNumber(
      sqs.maximumConcurrency,
      DEFAULT_MAXIMUM_CONCURRENCY,
      field('maximumConcurrency'),
    ),
    reportBatchItemFailures: sqs.functionResponseType === 'ReportBatchItemFailures',
  };
}

/** Every function with an SQS event, keyed by its name under `functions`. */
export function loadFunctionSettings(
  path = 'serverless.yml',
  options: LoadOptions = {},
): Record<string, FunctionSettings> {
  const config = loadServerlessConfig(path, options);
  const baseDir = dirname(resolve(path));
  const provider = isRecord(config.provider) ? config.provider : {};
  const resources = resourcesOf(config);
  const functions = isRecord(config.functions) ? config.functions : {};
  const settings: Record<string, FunctionSettings> = {};
  for (const [name, fn] of Object.entries(functions)) {
    if (!isRecord(fn)) continue;
    const sqs = sqsSettingsOf(name, fn, resources);
    if (!sqs) continue;
    if (typeof fn.handler !== 'string') {
      throw new ServerlessConfigError(`functions.${name}.handler must be a string`);
    }
    const { module, exportName } = resolveHandlerModule(fn.handler, baseDir);
    settings[name] = {
      handlerModule: module,
      handlerModulePath: join(baseDir, module),
      handlerExport: exportName,
      timeoutSeconds: toNumber(
        fn.timeout ?? provider.timeout,
        DEFAULT_TIMEOUT_SECONDS,
        `functions.${name}.timeout`,
      ),
      memorySize: toNumber(
        fn.memorySize ?? provider.memorySize,
        DEFAULT_MEMORY_SIZE,
        `functions.${name}.memorySize`,
      ),
      environment: {
        ...(isRecord(provider.environment) ? provider.environment : {}),
        ...(isRecord(fn.environment) ? fn.environment : {}),
      },
      sqs,
    };
  }
  return settings;
}

/** Every `AWS::SQS::Queue` under resources.Resources, keyed by logical id. */
export function loadQueueSettings(
  path = 'serverless.yml',
  options: LoadOptions = {},
): Record<string, QueueSettings> {
  const resources = resourcesOf(loadServerlessConfig(path, options));
  const queues: Record<string, QueueSettings> = {};
  for (const [logicalId, resource] of Object.entries(resources)) {
    if (!isRecord(resource) || resource.Type !== 'AWS::SQS::Queue') continue;
    const properties = isRecord(resource.Properties) ? resource.Properties : {};
    const field = (key: string) => `resources.Resources.${logicalId}.Properties.${key}`;
    const redrive = isRecord(properties.RedrivePolicy) ? properties.RedrivePolicy : {};
    const queue: QueueSettings = {};
    if (typeof properties.QueueName === 'string') queue.queueName = properties.QueueName;
    const visibilityTimeout = toNumber(properties.VisibilityTimeout, undefined, field('VisibilityTimeout'));
    if (visibilityTimeout !== undefined) queue.visibilityTimeout = visibilityTimeout;
    const maxReceiveCount = toNumber(
      redrive.maxReceiveCount,
      undefined,
      field('RedrivePolicy.maxReceiveCount'),
    );
    if (maxReceiveCount !== undefined) queue.maxReceiveCount = maxReceiveCount;
    const deadLetterLogicalId = logicalIdOf(redrive.deadLetterTargetArn);
    if (deadLetterLogicalId !== undefined) queue.deadLetterLogicalId = deadLetterLogicalId;
    const retention = toNumber(properties.MessageRetentionPeriod, undefined, field('MessageRetentionPeriod'));
    if (retention !== undefined) queue.messageRetentionPeriod = retention;
    const maximumSize = toNumber(properties.MaximumMessageSize, undefined, field('MaximumMessageSize'));
    if (maximumSize !== undefined) queue.maximumMessageSize = maximumSize;
    const delaySeconds = toNumber(properties.DelaySeconds, undefined, field('DelaySeconds'));
    if (delaySeconds !== undefined) queue.delaySeconds = delaySeconds;
    if (properties.FifoQueue === true || properties.FifoQueue === 'true') queue.fifoQueue = true;
    queues[logicalId] = queue;
  }
  return queues;
}

/**
 * `params.default` with the stage's own block over it (as osls resolves `${param:...}`), with their own
 * variables resolved. The stage is `options.stage`; without it, only the defaults.
 */
export function loadParamDefaults(
  path = 'serverless.yml',
  options: LoadOptions = {},
): Record<string, unknown> {
  const config = loadServerlessConfig(path, options);
  const params = isRecord(config.params) ? config.params : {};
  const defaults = isRecord(params.default) ? params.default : {};
  const stage = options.stage === undefined ? undefined : params[options.stage];
  return { ...defaults, ...(isRecord(stage) ? stage : {}) };
}
