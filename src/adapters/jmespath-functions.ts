import { PowertoolsFunctions } from '@aws-lambda-powertools/jmespath/functions';

/**
 * Powertools' JMESPath function table, introspected once. Its tree interpreter calls `introspectMethods()` on
 * every search, which walks the class chain and lists each prototype's methods again; with a key and a payload
 * search for each idempotency record, that was over a quarter of the handler's CPU per record.
 */
export class IntrospectedOnceFunctions extends PowertoolsFunctions {
  override introspectMethods(scope?: Parameters<PowertoolsFunctions['introspectMethods']>[0]): Set<string> {
    // The recursion runs this on each prototype of the chain too, where `methods` is not an own property.
    if (Object.hasOwn(this, 'methods') && this.methods.size > 0) return this.methods;
    return super.introspectMethods(scope);
  }
}
