import { EventBridgeApiError } from './errors.ts';
import {
  type CompiledPattern,
  compileEventPattern,
  InvalidEventPatternError,
  matchesEventPattern,
} from './pattern.ts';
import { type AccountScope, eventBusNameOf } from './put-events.ts';
import { RULE_STATES, type RuleState, type RuleStore, type StoredRule } from './rules.ts';
import { parseTargets } from './targets.ts';
import {
  EVENT_BUS_NAME_OR_ARN,
  isRecord,
  NEXT_TOKEN,
  RULE_NAME,
  requestBody,
  TARGET_ID,
  Violations,
  validationError,
} from './validation.ts';

export type Operation = (body: unknown) => Promise<unknown>;

interface RulesContext {
  scope: AccountScope;
  buses: ReadonlySet<string>;
  store: RuleStore;
}

const PAGE_SIZE = 100;
// TestEventPattern: "the following fields are mandatory" (AWS lists resources too, but does not require it).
const MANDATORY_EVENT_FIELDS = ['id', 'account', 'source', 'time', 'region', 'detail-type'];

function compile(pattern: string): CompiledPattern {
  try {
    return compileEventPattern(pattern);
  } catch (error) {
    if (error instanceof InvalidEventPatternError) {
      throw new EventBridgeApiError('InvalidEventPatternException', error.message);
    }
    throw error;
  }
}

/** Offsets into a sorted list, opaque to the client, tied to the list they page through. */
function page<T>(
  items: readonly T[],
  scopeKey: string,
  limit: number | undefined,
  token: string | undefined,
) {
  let start = 0;
  if (token !== undefined) {
    const decoded = /^(\d+):(.*)$/s.exec(Buffer.from(token, 'base64url').toString('utf8'));
    if (decoded === null || decoded[2] !== scopeKey)
      throw validationError('The NextToken provided is not valid.');
    start = Number(decoded[1]);
  }
  const end = start + (limit ?? PAGE_SIZE);
  const next = end < items.length ? Buffer.from(`${end}:${scopeKey}`).toString('base64url') : undefined;
  return { items: items.slice(start, end), ...(next !== undefined && { NextToken: next }) };
}

function ruleShape(rule: StoredRule) {
  return {
    Name: rule.name,
    Arn: rule.arn,
    EventPattern: rule.eventPattern,
    State: rule.state,
    ...(rule.description !== undefined && { Description: rule.description }),
    ...(rule.roleArn !== undefined && { RoleArn: rule.roleArn }),
    EventBusName: rule.eventBusName,
  };
}

function isRuleState(value: string | undefined): value is RuleState {
  return (RULE_STATES as readonly (string | undefined)[]).includes(value);
}

function bus(context: RulesContext, nameOrArn: string | undefined): string {
  const name = eventBusNameOf(nameOrArn, context.scope);
  if (name === undefined || !context.buses.has(name)) {
    throw new EventBridgeApiError('ResourceNotFoundException', `Event bus ${nameOrArn} does not exist.`);
  }
  return name;
}

/** Starts reading a request naming a rule: its body, the violations so far, the rule name and bus as given. */
function read(body: unknown, field: 'Name' | 'Rule') {
  const input = requestBody(body);
  const v = new Violations();
  const name = v.string(input, field, field.toLowerCase(), { ...RULE_NAME, required: true }) ?? '';
  const busRef = v.string(input, 'EventBusName', 'eventBusName', EVENT_BUS_NAME_OR_ARN);
  return { input, v, name, busRef };
}

function ruleRef(context: RulesContext, body: unknown, field: 'Name' | 'Rule') {
  const { v, name, busRef } = read(body, field);
  v.throwIfAny();
  return { name, eventBusName: bus(context, busRef) };
}

/** ListRules and ListTargetsByRule: the bus (and rule), Limit and NextToken. */
function listing(context: RulesContext, body: unknown, field: 'Rule' | undefined) {
  const input = requestBody(body);
  const v = new Violations();
  const name =
    field === undefined ? '' : (v.string(input, field, 'rule', { ...RULE_NAME, required: true }) ?? '');
  const prefix = field === undefined ? v.string(input, 'NamePrefix', 'namePrefix', RULE_NAME) : undefined;
  const busRef = v.string(input, 'EventBusName', 'eventBusName', EVENT_BUS_NAME_OR_ARN);
  const limit = v.integer(input, 'Limit', 'limit', 1, 100);
  const token = v.string(input, 'NextToken', 'nextToken', NEXT_TOKEN);
  v.throwIfAny();
  return { name, prefix, eventBusName: bus(context, busRef), limit, token };
}

async function putRule(context: RulesContext, body: unknown) {
  const { input, v, name, busRef } = read(body, 'Name');
  const pattern = v.string(input, 'EventPattern', 'eventPattern', { max: 4096 });
  const schedule = v.string(input, 'ScheduleExpression', 'scheduleExpression', { max: 256 });
  const state = v.string(input, 'State', 'state', { enum: RULE_STATES });
  const description = v.string(input, 'Description', 'description', { max: 512 });
  const roleArn = v.string(input, 'RoleArn', 'roleArn', { min: 1, max: 1600 });
  v.throwIfAny();
  if (pattern === undefined && schedule === undefined) {
    throw validationError('Parameter(s) EventPattern or ScheduleExpression must be specified.');
  }
  if (schedule !== undefined) {
    throw validationError(
      'The local EventBridge emulator does not run scheduled rules; give an EventPattern only.',
    );
  }
  const eventBusName = bus(context, busRef);
  const eventPattern = pattern ?? '';
  const RuleArn = context.store.put({
    name,
    eventBusName,
    eventPattern,
    compiled: compile(eventPattern),
    // Omitted arguments do not keep their old values: "they are replaced with null values" (PutRule).
    state: isRuleState(state) ? state : 'ENABLED',
    ...(description !== undefined && { description }),
    ...(roleArn !== undefined && { roleArn }),
  });
  return { RuleArn };
}

async function putTargets(context: RulesContext, body: unknown) {
  const { input, v, name, busRef } = read(body, 'Rule');
  const given = v.list(input, 'Targets', 'targets', { min: 1, max: 100, element: 'Target' });
  v.throwIfAny();
  const eventBusName = bus(context, busRef);
  context.store.putTargets(eventBusName, name, parseTargets(given, context.scope));
  return { FailedEntryCount: 0, FailedEntries: [] };
}

async function removeTargets(context: RulesContext, body: unknown) {
  const { input, v, name, busRef } = read(body, 'Rule');
  const list = v.list(input, 'Ids', 'ids', { min: 1, max: 100, element: 'String' });
  const ids = list.map((id, index) => v.string({ id }, 'id', `ids.${index + 1}.member`, TARGET_ID) ?? '');
  v.throwIfAny();
  context.store.removeTargets(bus(context, busRef), name, ids);
  return { FailedEntryCount: 0, FailedEntries: [] };
}

async function testEventPattern(body: unknown) {
  const input = requestBody(body);
  const v = new Violations();
  const pattern = v.string(input, 'EventPattern', 'eventPattern', { required: true, max: 4096 }) ?? '';
  const eventText = v.string(input, 'Event', 'event', { required: true }) ?? '';
  v.throwIfAny();
  const compiled = compile(pattern);
  let event: unknown;
  try {
    event = JSON.parse(eventText);
  } catch {
    event = undefined;
  }
  if (!isRecord(event) || !MANDATORY_EVENT_FIELDS.every((field) => Object.hasOwn(event, field))) {
    throw validationError('Parameter Event is not valid.');
  }
  return { Result: matchesEventPattern(compiled, event) };
}

/** The rule and target operations of the EventBridge API, over one rule store. */
export function ruleOperations(context: RulesContext): Record<string, Operation> {
  const { store } = context;
  const setState = (state: RuleState) => async (body: unknown) => {
    const { name, eventBusName } = ruleRef(context, body, 'Name');
    store.setState(eventBusName, name, state);
    return {};
  };
  return {
    PutRule: (body) => putRule(context, body),
    DescribeRule: async (body) => {
      const { name, eventBusName } = ruleRef(context, body, 'Name');
      return { ...ruleShape(store.get(eventBusName, name)), CreatedBy: context.scope.accountId };
    },
    DeleteRule: async (body) => {
      const { name, eventBusName } = ruleRef(context, body, 'Name');
      store.delete(eventBusName, name);
      return {};
    },
    EnableRule: setState('ENABLED'),
    DisableRule: setState('DISABLED'),
    ListRules: async (body) => {
      const { prefix, eventBusName, limit, token } = listing(context, body, undefined);
      const { items, ...next } = page(
        store.list(eventBusName, prefix),
        `rules/${eventBusName}/${prefix ?? ''}`,
        limit,
        token,
      );
      return { Rules: items.map(ruleShape), ...next };
    },
    PutTargets: (body) => putTargets(context, body),
    RemoveTargets: (body) => removeTargets(context, body),
    ListTargetsByRule: async (body) => {
      const { name, eventBusName, limit, token } = listing(context, body, 'Rule');
      const targets = [...store.get(eventBusName, name).targets.values()].map((target) => target.given);
      const { items, ...next } = page(targets, `targets/${eventBusName}/${name}`, limit, token);
      return { Targets: items, ...next };
    },
    TestEventPattern: testEventPattern,
  };
}
