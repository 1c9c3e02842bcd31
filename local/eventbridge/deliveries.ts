import { flattenEvent, matchesFlatEvent } from './pattern.ts';
import type { EventEnvelope } from './put-events.ts';
import type { StoredRule } from './rules.ts';
import { type QueueRef, targetBody } from './targets.ts';

/** Sends one message to an SQS queue; the local stack hands this to its SQS. */
export type QueueDelivery = (
  queue: QueueRef,
  body: string,
  options: { messageGroupId?: string },
) => Promise<void>;

/** Which rule target a delivery was for. */
export interface DeliveryTarget {
  rule: string;
  eventBusName: string;
  targetId: string;
  queueArn: string;
}

export interface DeliveryOutcomes {
  delivered(): void;
  failed(error: unknown, target: DeliveryTarget): void;
}

/**
 * The envelope as the JSON text an SQS target receives, every character past ASCII escaped: the same strings to
 * any JSON parser, and text that fauxqs accepts too (it refuses U+FFFE and U+FFFF as SQS does, and also every
 * character beyond U+FFFF, which SQS accepts), so free text in a detail reaches the subscriber's queue.
 */
export function asciiJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u007f-\uffff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Every target of every given rule whose pattern matches the envelope, each handed its own message. */
export function deliverToTargets(
  rules: readonly StoredRule[],
  envelope: EventEnvelope,
  deliver: QueueDelivery,
  outcomes: DeliveryOutcomes,
): Promise<void>[] {
  const flat = flattenEvent(envelope);
  return rules
    .filter((rule) => matchesFlatEvent(rule.compiled, flat))
    .flatMap((rule) =>
      [...rule.targets.values()].map(async (target) => {
        try {
          const body = targetBody(target, envelope, asciiJson);
          const group = target.messageGroupId;
          await deliver(target.queue, body, group === undefined ? {} : { messageGroupId: group });
          outcomes.delivered();
        } catch (error) {
          // On AWS a failed target never fails the PutEvents call that published the event: it is
          // retried and then dead-lettered out of band. So it is counted and reported, not thrown.
          const { name, eventBusName } = rule;
          outcomes.failed(error, {
            rule: name,
            eventBusName,
            targetId: target.id,
            queueArn: target.queue.arn,
          });
        }
      }),
    );
}
