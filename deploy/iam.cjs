'use strict';

// IAM values derived from the deploy-time params, resolved by osls through
// `${file(./deploy/iam.cjs):<export>}` (see params.cjs for how osls calls these exports).

const { InvalidParameterError, parseAllowedDomains, splitList } = require('./params.cjs');

// The account root, a role or a user; `${AWS::...}` pseudo parameters are allowed so the default can name
// the deploying account without an STS call at package time.
const PRINCIPAL_ARN =
  /^arn:(aws[a-z-]*|\$\{AWS::Partition\}):iam::(\d{12}|\$\{AWS::AccountId\}):(root|role\/[\w+=,.@/-]+|user\/[\w+=,.@/-]+)$/;
// Key-access roles reach the functions' environment as the param's own text, so they are literal ARNs.
const LITERAL_ROLE_ARN = /^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/;

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
 * @param {unknown} raw
 */
function parseProducerPrincipals(raw) {
  const principals = [...new Set(splitList(raw))];
  if (principals.length === 0) {
    throw new InvalidParameterError('producerPrincipals', 'must name at least one IAM principal ARN');
  }
  for (const principal of principals) {
    if (!PRINCIPAL_ARN.test(principal)) {
      throw new InvalidParameterError(
        'producerPrincipals',
        `"${principal}" is not an IAM account root, role or user ARN`,
      );
    }
  }
  return principals.map(withPseudoParameters);
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

/** @typedef {{ resolveVariable: (variable: string) => Promise<unknown> }} Context */

/**
 * A param that is not set at all reads as empty, like an empty one (see params.cjs).
 * @param {Context} context
 * @param {string} name
 */
const param = ({ resolveVariable }, name) => resolveVariable(`param:${name}, ''`);

module.exports = {
  /** @param {{ resolveVariable: (variable: string) => Promise<unknown> }} context */
  opensearchDomainArns: async ({ resolveVariable }) =>
    // Not set at all reads as empty, so the message names the param (see params.cjs).
    parseAllowedDomains(await resolveVariable("param:allowedDomains, ''")).map(opensearchDomainArn),
  /** @param {{ resolveVariable: (variable: string) => Promise<unknown> }} context */
  producerPrincipals: async ({ resolveVariable }) =>
    parseProducerPrincipals(await resolveVariable('param:producerPrincipals')),
  /** `"true"` when key-access roles are configured: only then may the associate function pass a role. */
  hasKeyAccessRoles: async (/** @type {Context} */ context) =>
    String(parseKeyAccessRoleArns(await param(context, 'keyAccessRoleArns')).length > 0),
  /** The iam:PassRole resources (KEY_ACCESS_ROLE_ARNS is the param itself, see serverless.yml). */
  keyAccessRoleArns: async (/** @type {Context} */ context) =>
    parseKeyAccessRoleArns(await param(context, 'keyAccessRoleArns')),
  opensearchDomainArn,
  parseProducerPrincipals,
  parseKeyAccessRoleArns,
};
