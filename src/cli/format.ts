/** How the CLI shows things to people: pure functions from data to lines. */
import type { DomainPackageDetails } from '@aws-sdk/client-opensearch';
import type { Message } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import type { IdempotencyRecordView } from './idempotency.ts';

/** Just enough of an EventBridge envelope to print it; the rest is kept for `--json`. */
const envelopeSchema = z.looseObject({
  'detail-type': z.string(),
  time: z.string(),
  detail: z.looseObject({
    idempotencyKey: z.string().optional(),
    domainName: z.string().nullable().optional(),
    packageId: z.string().nullable().optional(),
    status: z.string().optional(),
    error: z.looseObject({ code: z.string(), message: z.string() }).optional(),
  }),
});

export type EventEnvelope = z.infer<typeof envelopeSchema>;

/** The envelope a subscriber queue holds, or undefined when the body is something else. */
export function parseEnvelope(body: string): EventEnvelope | undefined {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return undefined;
  }
  const result = envelopeSchema.safeParse(value);
  return result.success ? result.data : undefined;
}

const DETAIL_TYPE_WIDTH = 'PackageAssociationSucceeded'.length;

/** `time  detail-type  domain  package  key=…  status | code: message` */
export function formatEventLine(envelope: EventEnvelope): string {
  const { detail } = envelope;
  const outcome =
    detail.error !== undefined
      ? `${detail.status !== undefined ? `${detail.status} ` : ''}${detail.error.code}: ${detail.error.message}`
      : (detail.status ?? '');
  return [
    envelope.time,
    envelope['detail-type'].padEnd(DETAIL_TYPE_WIDTH),
    detail.domainName ?? '-',
    detail.packageId ?? '-',
    `key=${detail.idempotencyKey ?? '-'}`,
    outcome,
  ]
    .join('  ')
    .trimEnd();
}

export interface DeadLetterView {
  messageId: string;
  reasonCode: string | undefined;
  errorMessage: string | undefined;
  attempt: number | undefined;
  sourceMessageId: string | undefined;
  failedAt: string | undefined;
  /** How many times this DLQ message has been received, listings included. */
  receiveCount: number | undefined;
  body: string;
}

function numberOrUndefined(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) ? parsed : undefined;
}

/** The reason attributes the service adds to a dead letter (src/domain/dlq.ts). */
export function deadLetterView(message: Message): DeadLetterView {
  const attribute = (name: string) => message.MessageAttributes?.[name]?.StringValue;
  return {
    messageId: message.MessageId ?? '?',
    reasonCode: attribute('ReasonCode'),
    errorMessage: attribute('ErrorMessage'),
    attempt: numberOrUndefined(attribute('Attempt')),
    sourceMessageId: attribute('SourceMessageId'),
    failedAt: attribute('FailedAt'),
    receiveCount: numberOrUndefined(message.Attributes?.ApproximateReceiveCount),
    body: message.Body ?? '',
  };
}

/** Which request a body is about, without printing the whole body. */
export function summarizeBody(body: string): string {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return `body: ${Buffer.byteLength(body, 'utf8')} bytes, not JSON`;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return `body: ${Buffer.byteLength(body, 'utf8')} bytes, not a JSON object`;
  }
  const record = value as Record<string, unknown>;
  const field = (name: string) => (typeof record[name] === 'string' ? record[name] : '-');
  return `domain=${field('domainName')} package=${field('packageId')} key=${field('idempotencyKey')}`;
}

/** Two lines per dead letter: what and when, then why. */
export function formatDeadLetter(view: DeadLetterView): string[] {
  const header = [
    view.failedAt ?? '(no FailedAt)',
    view.reasonCode ?? '(no ReasonCode)',
    `attempt=${view.attempt ?? '-'}`,
    `source=${view.sourceMessageId ?? '-'}`,
    `message=${view.messageId}`,
    summarizeBody(view.body),
  ].join('  ');
  return [header, `    ${view.errorMessage ?? '(no ErrorMessage)'}`];
}

/** "InvalidRequest 2, RetriesExhausted 1", most frequent first. */
export function formatReasonCounts(views: readonly DeadLetterView[]): string {
  const counts = new Map<string, number>();
  for (const view of views) {
    const reason = view.reasonCode ?? '(none)';
    counts.set(reason, (counts.get(reason) ?? 0) + 1);
  }
  return [...counts]
    .sort(([a, countA], [b, countB]) => countB - countA || a.localeCompare(b))
    .map(([reason, count]) => `${reason} ${count}`)
    .join(', ');
}

/** One line per package on a domain, as ListPackagesForDomain reports it. */
export function formatDomainPackage(details: DomainPackageDetails): string {
  const parts = [
    details.DomainName ?? '-',
    details.PackageID ?? '-',
    details.DomainPackageStatus ?? '-',
    `name=${details.PackageName ?? '-'}`,
    `type=${details.PackageType ?? '-'}`,
    `version=${details.PackageVersion ?? '-'}`,
    `reference=${details.ReferencePath ?? '-'}`,
  ];
  if (details.LastUpdated !== undefined) parts.push(`updated=${details.LastUpdated.toISOString()}`);
  const error = details.ErrorDetails;
  if (error !== undefined && (error.ErrorType !== undefined || error.ErrorMessage !== undefined)) {
    parts.push(`error=${error.ErrorType ?? '-'}: ${error.ErrorMessage ?? ''}`.trimEnd());
  }
  return parts.join('  ');
}

function describeOutcome(outcome: unknown): string {
  if (outcome === undefined || outcome === null) return '';
  if (typeof outcome === 'object' && !Array.isArray(outcome)) {
    const record = outcome as Record<string, unknown>;
    if (typeof record.outcome === 'string') {
      return typeof record.reason === 'string' ? `${record.outcome} (${record.reason})` : record.outcome;
    }
  }
  return JSON.stringify(outcome);
}

const STATE_TEXT: Record<IdempotencyRecordView['state'], string> = {
  'in-progress': 'in progress',
  'in-progress-lock-expired': 'in progress, lock expired (the next delivery runs this step again)',
  completed: 'completed',
  expired: 'expired (a new request with this key would run again)',
};

export function formatRecord(view: IdempotencyRecordView): string {
  const parts = [view.stage.padEnd(9), STATE_TEXT[view.state]];
  const outcome = describeOutcome(view.outcome);
  if (outcome !== '') parts.push(`outcome=${outcome}`);
  if (view.state.startsWith('in-progress') && view.inProgressUntil !== undefined) {
    parts.push(`locked-until=${view.inProgressUntil.toISOString()}`);
  }
  if (view.expiresAt !== undefined) parts.push(`expires=${view.expiresAt.toISOString()}`);
  parts.push(`record=${view.recordId}`);
  return parts.join('  ');
}
