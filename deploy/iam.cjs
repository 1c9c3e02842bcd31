'use strict';

// IAM values derived from the deploy-time params, resolved by osls through
// `${file(./deploy/iam.cjs):<export>}` (see params.cjs for how osls calls these exports).

const { InvalidParameterError, parseAllowedDomains, splitList } = require('./params.cjs');

const PARTITION = String.raw`(aws[a-z-]*|\$\{AWS::Partition\})`;
const ACCOUNT = String.raw`(\d{12}|\$\{AWS::AccountId\})`;
// IAM names and paths: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_identifiers.html
const NAME_WITH_PATH = String.raw`[\w+=,.@/-]+`;

// The account root, a role or a user; `${AWS::...}` pseudo parameters are allowed so a value can name the
// deploying account without an STS call at package time.
const PRINCIPAL_ARN = new RegExp(
  `^arn:${PARTITION}:iam::${ACCOUNT}:(root|role/${NAME_WITH_PATH}|user/${NAME_WITH_PATH})$`,
);
const ROLE_ARN = new RegExp(`^arn:${PARTITION}:iam::${ACCOUNT}:role/${NAME_WITH_PATH}$`);
// Key-access roles reach the functions' environment as the param's own text, so they are literal ARNs.
const LITERAL_ROLE_ARN = new RegExp(`^arn:aws[a-z-]*:iam::\\d{12}:role/${NAME_WITH_PATH}$`);
const ROOT_ARN = new RegExp(`^arn:${PARTITION}:iam::${ACCOUNT}:root$`);

/**
 * Leaves plain strings alone so the template stays readable, and lets CloudFormation fill in pseudo parameters.
 * @param {string} value
 * @returns {string | { 'Fn::Sub': string }}
 */
function withPseudoParameters(value) {
  return value.includes('${AWS::') ? { 'Fn::Sub': value } : value;
}

/**
 * Maps an allow-list entry to the domain ARN IAM matches it against; a trailing `*` is the same prefix
 * wildcard in both places, so `orders-*` grants exactly the domains the handler accepts.
 * @param {string} domainNameOrPattern
 */
function opensearchDomainArn(domainNameOrPattern) {
  return {
    'Fn::Sub': `arn:\${AWS::Partition}:es:\${AWS::Region}:\${AWS::AccountId}:domain/${domainNameOrPattern}`,
  };
}

/**
 * A comma-separated list of ARNs, unique, in their given order; empty is allowed (it means "none").
 * @param {string} parameter
 * @param {unknown} raw
 * @param {RegExp} pattern
 * @param {string} what
 * @returns {string[]}
 */
function parseArnList(parameter, raw, pattern, what) {
  const arns = [...new Set(splitList(raw))];
  for (const arn of arns) {
    if (!pattern.test(arn)) throw new InvalidParameterError(parameter, `"${arn}" is not ${what}`);
  }
  return arns;
}

/**
 * Who may send requests. Empty: nobody is named, and this account's own IAM policies are the only gate.
 * @param {unknown} raw
 * @returns {string[]}
 */
function parseProducerPrincipals(raw) {
  return parseArnList('producerPrincipals', raw, PRINCIPAL_ARN, 'an IAM account root, role or user ARN');
}

/**
 * The roles a request's `keyAccessRoleArn` may name; the associate function may pass exactly these to OpenSearch.
 * @param {unknown} raw
 * @returns {string[]}
 */
function parseKeyAccessRoleArns(raw) {
  return parseArnList(
    'keyAccessRoleArns',
    raw,
    LITERAL_ROLE_ARN,
    `an IAM role ARN (partition and account written out, no \${AWS::...})`,
  );
}

/**
 * The roles operators redrive dead letters with (`associator dlq redrive`): the queue policies' denies spare them.
 * @param {unknown} raw
 * @returns {string[]}
 */
function parseOperatorRoleArns(raw) {
  return parseArnList('operatorRoleArns', raw, ROLE_ARN, 'an IAM role ARN');
}

/**
 * The condition of a deny that spares exactly these principals: roles and users by `aws:PrincipalArn`, and
 * for an account root every principal of that account (`aws:PrincipalAccount`), since no request is made
 * as the root ARN itself. Both keys in one statement are ANDed: denied only if neither spares the caller.
 * @param {(string | { 'Fn::GetAtt': string[] })[]} principals ARNs as parsed (pseudo parameters not yet
 *   substituted), or the intrinsic of a role of this stack
 */
function denyAllButCondition(principals) {
  // A principal given as an intrinsic (the functions' roles, `Fn::GetAtt`) is a role ARN, not an account root.
  const isRoot = (principal) => typeof principal === 'string' && ROOT_ARN.test(principal);
  const arns = principals
    .filter((principal) => !isRoot(principal))
    .map((principal) => (typeof principal === 'string' ? withPseudoParameters(principal) : principal));
  const accounts = principals.filter(isRoot).map((root) => {
    // Not split on ":": the pseudo parameters hold colons of their own.
    const account = ROOT_ARN.exec(root)?.[2] ?? '';
    return account === `\${AWS::AccountId}` ? { Ref: 'AWS::AccountId' } : account;
  });
  return {
    ...(arns.length > 0 && { ArnNotEquals: { 'aws:PrincipalArn': arns } }),
    ...(accounts.length > 0 && { StringNotEquals: { 'aws:PrincipalAccount': accounts } }),
  };
}

/** @typedef {{ resolveVariable: (variable: string) => Promise<unknown> }} Context */

/**
 * A param that is not set at all reads as empty, like an empty one (see params.cjs).
 * @param {Context} context
 * @param {string} name
 */
const param = ({ resolveVariable }, name) => resolveVariable(`param:${name}, ''`);

/** @param {Context} context */
async function requestSenders(context) {
  const producers = parseProducerPrincipals(await param(context, 'producerPrincipals'));
  const operators = parseOperatorRoleArns(await param(context, 'operatorRoleArns'));
  return [...new Set([...producers, ...operators])];
}

/** The service's own roles: a rollout's children are requests the functions send themselves. */
const FUNCTION_ROLES = [
  { 'Fn::GetAtt': ['AssociatePackageRole', 'Arn'] },
  { 'Fn::GetAtt': ['TrackAssociationRole', 'Arn'] },
];

module.exports = {
  /** @param {Context} context */
  opensearchDomainArns: async (context) =>
    parseAllowedDomains(await param(context, 'allowedDomains')).map(opensearchDomainArn),
  /** `"true"` when producerPrincipals names anyone: then the requests queue denies everyone else. */
  hasNamedProducers: async (/** @type {Context} */ context) =>
    String(parseProducerPrincipals(await param(context, 'producerPrincipals')).length > 0),
  /** The principals the requests queue allows: the producers and the operators. */
  requestSenders: async (/** @type {Context} */ context) =>
    (await requestSenders(context)).map(withPseudoParameters),
  /**
   * The condition of the requests queue's deny: everyone but the producers, the operators and the functions
   * (which need no Allow there: their own IAM policies grant what this account's queue lets them do).
   */
  requestSendersDenyCondition: async (/** @type {Context} */ context) =>
    denyAllButCondition([...FUNCTION_ROLES, ...(await requestSenders(context))]),
  /** Who besides the two function roles may send to the tracking queue: the operators (redrive). */
  trackingQueueSenders: async (/** @type {Context} */ context) => [
    { 'Fn::GetAtt': ['AssociatePackageRole', 'Arn'] },
    { 'Fn::GetAtt': ['TrackAssociationRole', 'Arn'] },
    ...parseOperatorRoleArns(await param(context, 'operatorRoleArns')).map(withPseudoParameters),
  ],
  /** `"true"` when key-access roles are configured: only then may the associate function pass a role. */
  hasKeyAccessRoles: async (/** @type {Context} */ context) =>
    String(parseKeyAccessRoleArns(await param(context, 'keyAccessRoleArns')).length > 0),
  /** The iam:PassRole resources (KEY_ACCESS_ROLE_ARNS is the param itself, see serverless.yml). */
  keyAccessRoleArns: async (/** @type {Context} */ context) =>
    parseKeyAccessRoleArns(await param(context, 'keyAccessRoleArns')),
  opensearchDomainArn,
  parseProducerPrincipals,
  parseKeyAccessRoleArns,
  parseOperatorRoleArns,
  denyAllButCondition,
  withPseudoParameters,
};
