'use strict';

// An osls plugin (serverless.yml `plugins:`) that decides at package time what the params already decide.
//
// serverless.yml writes its choices as CloudFormation conditions (`CreateEventBus: !Equals
// ["${param:existingEventBusArn}", ""]`), which keeps it plain CloudFormation. Once osls has filled in the
// params, such a condition compares two literals: its answer is fixed before the stack exists. Left in the
// template it would make CloudFormation evaluate a constant, make cfn-lint read both branches (the one not
// taken holds the empty value: `AlarmActions: [""]`, a `PutEvents` on `Resource: ""`) and warn that the
// comparison is constant. So, just before the template is written:
//
// - a condition whose answer follows from literals alone is decided;
// - `Fn::If` on a decided condition becomes the branch taken; `!Ref AWS::NoValue` taken removes the property
//   or list item, as CloudFormation would;
// - a resource or output on a decided condition is kept without the condition, or removed; the condition
//   itself goes once nothing refers to it;
// - a `DependsOn` entry the resource already implies by a `Ref`, `Fn::GetAtt` or `Fn::Sub` of its properties
//   is dropped (osls adds the role of a function to its `DependsOn` although `Role` names it already).
//
// A condition that depends on anything CloudFormation knows only at deploy time (a `Ref`, an import) stays as
// it is. Packaging fails if a removed resource is still referred to.

class PackageTimeConditionsError extends Error {
  /** @param {string} message */
  constructor(message) {
    super(message);
    this.name = 'PackageTimeConditionsError';
  }
}

/**
 * @param {unknown} value
 * @returns {value is Record<string, unknown>}
 */
const isObject = (value) => typeof value === 'object' && value !== null && !Array.isArray(value);
/** @param {unknown} value */
const isLiteral = (value) => ['string', 'number', 'boolean'].includes(typeof value);
/** @param {unknown} value */
const isNoValue = (value) =>
  isObject(value) && Object.keys(value).length === 1 && value.Ref === 'AWS::NoValue';

/**
 * The one intrinsic function an object is, if it is one (`{ "Fn::If": [...] }` -> ["Fn::If", [...]]).
 * @param {unknown} value
 * @returns {[string, unknown] | undefined}
 */
function intrinsic(value) {
  if (!isObject(value)) return undefined;
  const entries = Object.entries(value);
  return entries.length === 1 && (entries[0][0].startsWith('Fn::') || entries[0][0] === 'Condition')
    ? /** @type {[string, unknown]} */ (entries[0])
    : undefined;
}

/**
 * Decides every condition that literals alone decide.
 * @param {Record<string, unknown>} conditions
 * @returns {Map<string, boolean>}
 */
function decideConditions(conditions) {
  /** @type {Map<string, boolean | undefined>} */
  const answers = new Map();
  const visiting = new Set();

  /** @param {string} name */
  const decide = (name) => {
    if (answers.has(name)) return answers.get(name);
    if (visiting.has(name) || !(name in conditions)) return undefined;
    visiting.add(name);
    const answer = evaluate(conditions[name]);
    visiting.delete(name);
    answers.set(name, answer);
    return answer;
  };

  /**
   * @param {unknown} expression
   * @returns {boolean | undefined}
   */
  const evaluate = (expression) => {
    const [fn, args] = intrinsic(expression) ?? [];
    if (fn === 'Condition') return typeof args === 'string' ? decide(args) : undefined;
    if (!Array.isArray(args)) return undefined;
    switch (fn) {
      case 'Fn::Equals':
        return args.length === 2 && args.every(isLiteral) ? String(args[0]) === String(args[1]) : undefined;
      case 'Fn::Not': {
        const value = args.length === 1 ? evaluate(args[0]) : undefined;
        return value === undefined ? undefined : !value;
      }
      case 'Fn::And':
      case 'Fn::Or': {
        const values = args.map(evaluate);
        const decisive = fn !== 'Fn::And';
        if (values.includes(decisive)) return decisive;
        return values.every((value) => value !== undefined) ? !decisive : undefined;
      }
      default:
        return undefined;
    }
  };

  for (const name of Object.keys(conditions)) decide(name);
  return new Map(
    [...answers].filter(/** @returns {entry is [string, boolean]} */ (entry) => entry[1] !== undefined),
  );
}

const REMOVED = Symbol('removed');

/**
 * Replaces `Fn::If` on decided conditions by the branch taken, removing `AWS::NoValue` where it lands.
 * @param {unknown} node
 * @param {Map<string, boolean>} decided
 * @returns {unknown}
 */
function substitute(node, decided) {
  if (Array.isArray(node)) {
    return node.map((item) => substitute(item, decided)).filter((item) => item !== REMOVED);
  }
  if (!isObject(node)) return node;
  const [fn, args] = intrinsic(node) ?? [];
  if (fn === 'Fn::If' && Array.isArray(args) && args.length === 3 && decided.has(String(args[0]))) {
    const taken = decided.get(String(args[0])) ? args[1] : args[2];
    return isNoValue(taken) ? REMOVED : substitute(taken, decided);
  }
  const result = {};
  for (const [key, value] of Object.entries(node)) {
    const replaced = substitute(value, decided);
    if (replaced !== REMOVED) result[key] = replaced;
  }
  return result;
}

/**
 * The logical ids a piece of template refers to through `Ref`, `Fn::GetAtt` and `Fn::Sub`.
 * @param {unknown} node
 * @param {Set<string>} [found]
 * @returns {Set<string>}
 */
function referencedIds(node, found = new Set()) {
  if (Array.isArray(node)) {
    for (const item of node) referencedIds(item, found);
    return found;
  }
  if (!isObject(node)) return found;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'Ref' && typeof value === 'string' && !value.startsWith('AWS::')) found.add(value);
    else if (key === 'Fn::GetAtt') {
      const target = Array.isArray(value)
        ? value[0]
        : typeof value === 'string'
          ? value.split('.')[0]
          : undefined;
      if (typeof target === 'string') found.add(target);
      else referencedIds(value, found);
    } else if (key === 'Fn::Sub') {
      const [text, variables] = Array.isArray(value) ? value : [value, {}];
      const local = new Set(isObject(variables) ? Object.keys(variables) : []);
      if (typeof text === 'string') {
        for (const [, name] of text.matchAll(/\$\{([^!}][^}]*)\}/g)) {
          const id = name.split('.')[0] ?? '';
          if (!id.startsWith('AWS::') && !local.has(name)) found.add(id);
        }
      }
      referencedIds(variables, found);
    } else referencedIds(value, found);
  }
  return found;
}

/**
 * The condition names a piece of template still uses.
 * @param {unknown} node
 * @param {Set<string>} [found]
 * @returns {Set<string>}
 */
function usedConditions(node, found = new Set()) {
  if (Array.isArray(node)) {
    for (const item of node) usedConditions(item, found);
    return found;
  }
  if (!isObject(node)) return found;
  for (const [key, value] of Object.entries(node)) {
    if (key === 'Condition' && typeof value === 'string') found.add(value);
    else if (key === 'Fn::If' && Array.isArray(value) && typeof value[0] === 'string') {
      found.add(value[0]);
      usedConditions(value.slice(1), found);
    } else usedConditions(value, found);
  }
  return found;
}

/**
 * Folds the conditions literals decide into the template, in place.
 * @param {{ Resources?: Record<string, any>, Outputs?: Record<string, any>, Conditions?: Record<string, unknown> }} template
 * @returns {{ decided: Record<string, boolean>, removed: string[] }}
 */
function foldPackageTimeConditions(template) {
  const conditions = template.Conditions ?? {};
  const decided = decideConditions(conditions);
  const removed = [];
  for (const section of /** @type {const} */ (['Resources', 'Outputs'])) {
    const entries = template[section];
    if (!entries) continue;
    for (const [id, entry] of Object.entries(entries)) {
      if (!isObject(entry) || typeof entry.Condition !== 'string' || !decided.has(entry.Condition)) continue;
      if (decided.get(entry.Condition)) delete entry.Condition;
      else {
        delete entries[id];
        if (section === 'Resources') removed.push(id);
      }
    }
    template[section] = /** @type {Record<string, any>} */ (substitute(entries, decided));
  }

  // A decided condition stays only while an undecided one (or anything left) still names it.
  const stillUsed = usedConditions([template.Resources, template.Outputs]);
  for (const [name, expression] of Object.entries(conditions)) {
    if (!decided.has(name)) usedConditions(expression, stillUsed);
  }
  for (const name of decided.keys()) if (!stillUsed.has(name)) delete conditions[name];
  if (template.Conditions && Object.keys(template.Conditions).length === 0) delete template.Conditions;

  const gone = new Set(removed);
  const dangling = [];
  for (const section of /** @type {const} */ (['Resources', 'Outputs'])) {
    for (const [id, entry] of Object.entries(template[section] ?? {})) {
      const dependsOn = isObject(entry) ? [entry.DependsOn ?? []].flat() : [];
      for (const target of [...referencedIds(entry), ...dependsOn]) {
        if (gone.has(target)) dangling.push(`${section}.${id} -> ${target}`);
      }
    }
  }
  if (dangling.length > 0) {
    throw new PackageTimeConditionsError(
      `resources removed by their package-time condition are still referred to: ${dangling.join(', ')}`,
    );
  }
  return { decided: Object.fromEntries(decided), removed };
}

/**
 * Drops the `DependsOn` entries a resource already implies through its properties, in place.
 * @param {{ Resources?: Record<string, any> }} template
 * @returns {string[]} `Resource -> dependency` for each entry dropped
 */
function dropImpliedDependsOn(template) {
  const dropped = [];
  for (const [id, resource] of Object.entries(template.Resources ?? {})) {
    if (!isObject(resource) || resource.DependsOn === undefined) continue;
    const implied = referencedIds(resource.Properties);
    const kept = [resource.DependsOn].flat().filter((dependency) => {
      if (!implied.has(dependency)) return true;
      dropped.push(`${id} -> ${dependency}`);
      return false;
    });
    if (kept.length === 0) delete resource.DependsOn;
    else resource.DependsOn = kept;
  }
  return dropped;
}

class PackageTimeConditionsPlugin {
  /**
   * @param {{ service: { provider: { compiledCloudFormationTemplate: any } } }} serverless
   * @param {unknown} _options
   * @param {{ log?: { info?: (message: string) => void } }} [utils]
   */
  constructor(serverless, _options, utils = {}) {
    const info = utils.log?.info ?? (() => {});
    this.hooks = {
      // After osls merged `resources:` into the compiled template, before it validates and writes it.
      'before:aws:package:finalize:saveServiceState': () => {
        const template = serverless.service.provider.compiledCloudFormationTemplate;
        const { decided, removed } = foldPackageTimeConditions(template);
        const dropped = dropImpliedDependsOn(template);
        info(
          `Package-time conditions: ${JSON.stringify(decided)}; removed ${removed.join(', ') || 'nothing'}; ` +
            `implied DependsOn dropped: ${dropped.join(', ') || 'none'}`,
        );
      },
    };
  }
}

module.exports = PackageTimeConditionsPlugin;
module.exports.foldPackageTimeConditions = foldPackageTimeConditions;
module.exports.dropImpliedDependsOn = dropImpliedDependsOn;
module.exports.decideConditions = decideConditions;
module.exports.referencedIds = referencedIds;
module.exports.PackageTimeConditionsError = PackageTimeConditionsError;
