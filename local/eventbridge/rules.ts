import { EventBridgeApiError } from './errors.ts';
import type { CompiledPattern } from './pattern.ts';
import { type AccountScope, DEFAULT_EVENT_BUS } from './put-events.ts';
import type { RuleTarget } from './targets.ts';
import { validationError } from './validation.ts';

export const RULE_STATES = ['ENABLED', 'DISABLED', 'ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS'] as const;
export type RuleState = (typeof RULE_STATES)[number];

/** "Each rule can have up to five (5) targets associated with it at one time." (PutTargets) */
export const MAX_TARGETS_PER_RULE = 5;

export interface RuleDefinition {
  name: string;
  eventBusName: string;
  /** The pattern's text exactly as given, which DescribeRule and ListRules echo. */
  eventPattern: string;
  compiled: CompiledPattern;
  state: RuleState;
  description?: string;
  roleArn?: string;
}

export interface StoredRule extends RuleDefinition {
  arn: string;
  /** By target id, in the order they were first put. */
  targets: Map<string, RuleTarget>;
}

/** `arn:aws:events:<region>:<account>:rule/<name>` on the default bus, `rule/<bus>/<name>` on others. */
export function ruleArn(eventBusName: string, name: string, scope: AccountScope): string {
  const path = eventBusName === DEFAULT_EVENT_BUS ? name : `${eventBusName}/${name}`;
  return `arn:aws:events:${scope.region}:${scope.accountId}:rule/${path}`;
}

function notFound(name: string, eventBusName: string): EventBridgeApiError {
  return new EventBridgeApiError(
    'ResourceNotFoundException',
    `Rule ${name} does not exist on EventBus ${eventBusName}.`,
  );
}

/** The rules of every bus, kept in memory; buses are checked by the caller. */
export class RuleStore {
  private readonly rules = new Map<string, StoredRule>();
  private readonly scope: AccountScope;

  constructor(scope: AccountScope) {
    this.scope = scope;
  }

  private static key(eventBusName: string, name: string): string {
    return `${eventBusName}\u0000${name}`;
  }

  /** Creates or replaces a rule; a replaced rule keeps its targets, as on AWS. Returns its ARN. */
  put(definition: RuleDefinition): string {
    const key = RuleStore.key(definition.eventBusName, definition.name);
    const targets = this.rules.get(key)?.targets ?? new Map<string, RuleTarget>();
    const arn = ruleArn(definition.eventBusName, definition.name, this.scope);
    this.rules.set(key, { ...definition, arn, targets });
    return arn;
  }

  get(eventBusName: string, name: string): StoredRule {
    const rule = this.rules.get(RuleStore.key(eventBusName, name));
    if (rule === undefined) throw notFound(name, eventBusName);
    return rule;
  }

  /** Deleting a rule that does not exist succeeds, as on AWS; one that still has targets is refused. */
  delete(eventBusName: string, name: string): void {
    const key = RuleStore.key(eventBusName, name);
    const rule = this.rules.get(key);
    if (rule === undefined) return;
    if (rule.targets.size > 0) throw validationError("Rule can't be deleted since it has targets.");
    this.rules.delete(key);
  }

  setState(eventBusName: string, name: string, state: RuleState): void {
    this.get(eventBusName, name).state = state;
  }

  /** The bus's rules whose names start with `prefix`, sorted by name. */
  list(eventBusName: string, prefix = ''): StoredRule[] {
    return [...this.rules.values()]
      .filter((rule) => rule.eventBusName === eventBusName && rule.name.startsWith(prefix))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  }

  /** Adds targets or replaces those of the same id; the whole call fails if the rule would pass its limit. */
  putTargets(eventBusName: string, name: string, targets: readonly RuleTarget[]): void {
    const rule = this.get(eventBusName, name);
    const ids = new Set([...rule.targets.keys(), ...targets.map((target) => target.id)]);
    if (ids.size > MAX_TARGETS_PER_RULE) {
      throw new EventBridgeApiError(
        'LimitExceededException',
        'The requested resource exceeds the maximum number allowed.',
      );
    }
    for (const target of targets) rule.targets.set(target.id, target);
  }

  /** Removes the targets by id; an id the rule does not have is no failure. */
  removeTargets(eventBusName: string, name: string, ids: readonly string[]): void {
    const rule = this.get(eventBusName, name);
    for (const id of ids) rule.targets.delete(id);
  }

  /** The rules on a bus that take events now: ENABLED, or enabled for CloudTrail events too. */
  enabledOn(eventBusName: string): StoredRule[] {
    return [...this.rules.values()].filter(
      (rule) => rule.eventBusName === eventBusName && rule.state !== 'DISABLED',
    );
  }
}
