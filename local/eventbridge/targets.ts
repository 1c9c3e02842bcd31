import type { AccountScope, EventEnvelope } from './put-events.ts';
import { isRecord, serializationError, TARGET_ID, Violations, validationError } from './validation.ts';

/** Where an SQS target delivers, read from its ARN. */
export interface QueueRef {
  arn: string;
  region: string;
  accountId: string;
  queueName: string;
}

/** What a target sends: the whole event, a constant (`Input`) or one part of the event (`InputPath`). */
export type TargetInput =
  | { kind: 'event' }
  | { kind: 'constant'; text: string }
  | { kind: 'path'; path: string[] };

export interface RuleTarget {
  id: string;
  queue: QueueRef;
  input: TargetInput;
  messageGroupId?: string;
  /** The target as PutTargets gave it, for ListTargetsByRule. */
  given: Record<string, unknown>;
}

const SQS_ARN = /^arn:aws[a-z-]*:sqs:([a-z0-9-]+):(\d{12}):([A-Za-z0-9_-]{1,80}(?:\.fifo)?)$/;
// JSON dot notation only, as AWS requires for InputPath: `$`, `$.detail`, `$.detail.state`.
const INPUT_PATH = /^\$(?:\.[^.[\]]+)*$/;

function readTargetFields(raw: unknown, position: number, violations: Violations) {
  if (!isRecord(raw)) throw serializationError(`Targets[${position - 1}] must be a structure`);
  const at = (member: string) => `targets.${position}.member.${member}`;
  const sqs = raw.SqsParameters;
  if (sqs !== undefined && sqs !== null && !isRecord(sqs)) {
    throw serializationError(`Targets[${position - 1}].SqsParameters must be a structure`);
  }
  return {
    raw,
    id: violations.string(raw, 'Id', at('id'), TARGET_ID),
    arn: violations.string(raw, 'Arn', at('arn'), { required: true, min: 1, max: 1600 }),
    input: violations.string(raw, 'Input', at('input'), { max: 8192 }),
    inputPath: violations.string(raw, 'InputPath', at('inputPath'), { max: 256 }),
    messageGroupId: isRecord(sqs)
      ? violations.string(sqs, 'MessageGroupId', at('sqsParameters.messageGroupId'), { max: 100 })
      : undefined,
  };
}

type TargetFields = ReturnType<typeof readTargetFields>;

function queueOf(id: string, arn: string, scope: AccountScope): QueueRef {
  if (!/^arn:[^:]*:[^:]+:[^:]*:[^:]*:.+$/.test(arn)) {
    throw validationError(`Parameter ${arn} is not valid. Reason: Provided Arn is not in correct format.`);
  }
  const match = SQS_ARN.exec(arn);
  if (match === null) {
    throw validationError(
      `The local EventBridge emulator delivers only to SQS queues (arn:aws:sqs:<region>:<account>:<queue>); target ${id} has Arn ${arn}.`,
    );
  }
  const [, region = '', accountId = '', queueName = ''] = match;
  if (accountId !== scope.accountId) {
    throw validationError(
      `The local EventBridge emulator delivers only to SQS queues of account ${scope.accountId}; target ${id} has Arn ${arn}.`,
    );
  }
  return { arn, region, accountId, queueName };
}

function inputOf(fields: TargetFields, id: string): TargetInput {
  const { raw, input, inputPath } = fields;
  const transformer = raw.InputTransformer !== undefined && raw.InputTransformer !== null;
  if ([input, inputPath, transformer || undefined].filter((given) => given !== undefined).length > 1) {
    throw validationError(
      `Only one of Input, InputPath, or InputTransformer must be provided for target ${id}.`,
    );
  }
  if (transformer) {
    throw validationError(
      `The local EventBridge emulator does not apply InputTransformer (target ${id}); give Input, InputPath or neither.`,
    );
  }
  if (input !== undefined) {
    try {
      JSON.parse(input);
    } catch {
      throw validationError(`Input for target ${id} is not valid JSON.`);
    }
    return { kind: 'constant', text: input };
  }
  if (inputPath !== undefined) {
    if (!INPUT_PATH.test(inputPath)) {
      throw validationError(
        `InputPath ${inputPath} of target ${id} is not valid: use JSON dot notation, such as $.detail or $.detail.state.`,
      );
    }
    return { kind: 'path', path: inputPath.split('.').slice(1) };
  }
  return { kind: 'event' };
}

/**
 * Reads PutTargets' `Targets`: AWS's constraint messages first, for every target at once, then what the
 * emulator can deliver (SQS queues of this account, with Input or InputPath), refused by target id.
 */
export function parseTargets(raw: unknown[], scope: AccountScope): RuleTarget[] {
  const violations = new Violations();
  const fields = raw.map((target, index) => readTargetFields(target, index + 1, violations));
  violations.throwIfAny();
  return fields.map((field) => {
    const id = field.id ?? '';
    const queue = queueOf(id, field.arn ?? '', scope);
    if (queue.queueName.endsWith('.fifo') && !isRecord(field.raw.SqsParameters)) {
      throw validationError(`Parameter(s) SqsParameters must be specified for target: ${id}.`);
    }
    return {
      id,
      queue,
      input: inputOf(field, id),
      ...(field.messageGroupId !== undefined && { messageGroupId: field.messageGroupId }),
      given: field.raw,
    };
  });
}

/** The JSON value at a dot path of the event, or undefined when the event has nothing there. */
function select(envelope: EventEnvelope, path: readonly string[]): unknown {
  let value: unknown = envelope;
  for (const segment of path) {
    if (!isRecord(value) || !Object.hasOwn(value, segment)) return undefined;
    value = value[segment];
  }
  return value;
}

/**
 * The message body a target receives. `json` renders JSON as the SQS target's body (the emulator's
 * ASCII-safe form). A path that selects nothing is a failed delivery, reported rather than sent empty.
 */
export function targetBody(
  target: RuleTarget,
  envelope: EventEnvelope,
  json: (value: unknown) => string,
): string {
  switch (target.input.kind) {
    case 'event':
      return json(envelope);
    case 'constant':
      return target.input.text;
    case 'path': {
      const value = select(envelope, target.input.path);
      if (value === undefined) {
        throw new Error(
          `InputPath $.${target.input.path.join('.')} of target ${target.id} selects nothing in the event`,
        );
      }
      return json(value);
    }
  }
}
