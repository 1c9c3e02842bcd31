import { search } from '@aws-lambda-powertools/jmespath';
import { PowertoolsFunctions } from '@aws-lambda-powertools/jmespath/functions';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { IntrospectedOnceFunctions } from '../../src/adapters/jmespath-functions.ts';

describe('IntrospectedOnceFunctions', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('evaluates built-in and Powertools functions as the default table does', () => {
    const functions = new IntrospectedOnceFunctions();
    const data = { body: '{"idempotencyKey":"k-1"}', items: [1, 2, 3] };
    for (const expression of ['length(items)', 'powertools_json(body).idempotencyKey', '[items[0], body]']) {
      expect(search(expression, data, { customFunctions: functions })).toEqual(
        search(expression, data, { customFunctions: new PowertoolsFunctions() }),
      );
    }
  });

  it('lists its methods on the first search only', () => {
    const introspect = vi.spyOn(PowertoolsFunctions.prototype, 'introspectMethods');
    const functions = new IntrospectedOnceFunctions();
    search('length(items)', { items: [1] }, { customFunctions: functions });
    const afterFirst = introspect.mock.calls.length;
    expect(afterFirst).toBeGreaterThan(0);
    for (let index = 0; index < 10; index += 1) {
      expect(search('length(items)', { items: [1, 2] }, { customFunctions: functions })).toBe(2);
    }
    expect(introspect.mock.calls.length).toBe(afterFirst);
  });
});
