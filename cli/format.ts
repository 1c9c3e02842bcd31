/** How the CLI shows things to people: pure functions from data to lines. */
import type { DomainPackageDetails } from '@aws-sdk/client-opensearch';
import type { Message } from '@aws-sdk/client-sqs';
import * as z from 'zod';
import { DETAIL_TYPES } from '../src/domain/events.ts';
import type { LeaseView, PendingView, RecordView, RolloutView } from './ledger.ts';
import { countsText, outcomeText, strategyText, targetText, waveLabel } from './rollout-view.ts';

/** Just enough of an EventBridge envelope to print it; the rest is kept for `--json`. */
const envelopeSchema = z.looseObject({
  'detail-type': z.string(),
  time: z.string(),
  detail: z.looseObject({
    eventId: z.string().optional(),
    idempotencyKey: z.string().optional(),
    /** Rejections: the SQS message refused, and the key its body asked for (not that key's outcome). */
    messageId: z.string().optional(),
    requestedIdempotencyKey: z.string().optional(),
    domainName: z.string().nullable().optional(),
    packageId: z.string().nullable().optional(),
    status: z.string().optional(),
    error: z.looseObject({ code: z.string(), message: z.string() }).optional(),
    occurredAt: z.string().optional(),
    attempt: z.number().optional(),
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

/** Within one instant a request starts before it ends. */
const LIFECYCLE_RANK: Record<string, number> = {
  [DETAIL_TYPES.rejected]: 0,
  [DETAIL_TYPES.started]: 0,
  [DETAIL_TYPES.succeeded]: 1,
  [DETAIL_TYPES.failed]: 1,
};

function occurredAt(envelope: EventEnvelope): number {
  const time = Date.parse(envelope.detail.occurredAt ?? envelope.time);
  return Number.isNaN(time) ? Number.POSITIVE_INFINITY : time;
}

/**
 * Events in the order they happened: by `occurredAt`, then a start before an end, then by attempt; otherwise
 * in the order given. SQS delivers in no particular order, so this is what keeps Started before Succeeded
 * within what one receive returns.
 */
export function inTimeOrder<T extends { envelope: EventEnvelope }>(events: readonly T[]): T[] {
  const rank = (envelope: EventEnvelope) => LIFECYCLE_RANK[envelope['detail-type']] ?? 1;
  return [...events].sort(
    (a, b) =>
      occurredAt(a.envelope) - occurredAt(b.envelope) ||
      rank(a.envelope) - rank(b.envelope) ||
      (a.envelope.detail.attempt ?? 0) - (b.envelope.detail.attempt ?? 0),
  );
}

/** Which request or message an event is about: `key=…` for requests, `message=…` for rejections. */
function eventSubject(envelope: EventEnvelope): string[] {
  const { detail } = envelope;
  if (envelope['detail-type'] !== DETAIL_TYPES.rejected) return [`key=${detail.idempotencyKey ?? '-'}`];
  const subject = [`message=${detail.messageId ?? '-'}`];
  if (detail.requestedIdempotencyKey !== undefined) {
    subject.push(`requested-key=${detail.requestedIdempotencyKey}`);
  }
  return subject;
}

/**
 * `time  detail-type  domain  package  key=…  event=…  status | code: message`; a rejection names its message
 * (and the key its body asked for) instead of a key.
 */
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
    ...eventSubject(envelope),
    ...(detail.eventId !== undefined ? [`event=${detail.eventId}`] : []),
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

const iso = (date: Date) => date.toISOString();

function formatLease(lease: LeaseView): string {
  switch (lease.status) {
    case 'free':
      return 'free';
    case 'held':
      return `held by ${lease.owner} until ${iso(lease.until)}`;
    case 'expired':
      return `expired: ${lease.owner} held it until ${iso(lease.until)} (its invocation died; any copy may take over)`;
  }
}

function formatPending(entry: PendingView): string {
  switch (entry.kind) {
    case 'event':
      return `event ${entry.detailType} ${entry.eventId}`;
    case 'dead-letter':
      return `dead letter ${entry.reasonCode} ${entry.deadLetterId}`;
    case 'tracking':
      return `tracking message (first check after ${entry.delaySeconds} s)`;
    case 'rollout-outcome':
      return `outcome of ${entry.domainName} for rollout ${entry.rolloutId}`;
    case 'children':
      return `${entry.count} child requests of wave ${entry.wave}`;
  }
}

/** `label  value` with the labels in one column. */
const field = (label: string, value: string) => `  ${label.padEnd(14)}${value}`;

function windowLines(view: RecordView): string[] {
  const lines = [field('window', `${view.expired ? 'ended' : 'ends'} ${iso(view.expiresAt)}`)];
  const [first, ...rest] = view.pending;
  if (first === undefined) return [...lines, field('pending', 'nothing')];
  return [
    ...lines,
    field('pending', formatPending(first)),
    ...rest.map((entry) => field('', formatPending(entry))),
  ];
}

/** Each wave with its state, then its domains with their state and version or failure code, in columns. */
function waveLines(view: RolloutView): string[] {
  const domains = view.waves.flatMap((wave) => wave.domains);
  const nameWidth = Math.max(...domains.map((domain) => domain.domainName.length));
  return view.waves.flatMap((wave) => [
    `  ${waveLabel(view, wave.wave)}  ${wave.state}  ${wave.succeeded + wave.failed}/${wave.domains.length} done`,
    ...wave.domains.map((domain) =>
      `    ${domain.domainName.padEnd(nameWidth)}  ${domain.state.padEnd(9)}  ${outcomeText(domain)}`.trimEnd(),
    ),
  ]);
}

function formatRolloutView(view: RolloutView): string[] {
  const lines = [
    `rollout ${view.rolloutId}: ${view.state}${view.halting && view.state === 'RUNNING' ? ' (halting)' : ''}`,
    field('package', targetText(view)),
    field('strategy', strategyText(view.strategy)),
    field('correlation', view.correlationId),
  ];
  if (view.requestedBy !== undefined) lines.push(field('requested by', view.requestedBy));
  lines.push(field('accepted', iso(view.acceptedAt)));
  if (view.decidedAt !== undefined) lines.push(field('decided', iso(view.decidedAt)));
  lines.push(field('domains', countsText(view.counts)));
  return [...lines, ...waveLines(view), ...windowLines(view)];
}

/** A ledger record for people: what it is about, its state, and what the service still owes for it. */
export function formatRecordView(view: RecordView): string[] {
  if (view.kind === 'rollout') return formatRolloutView(view);
  if (view.kind === 'rejection') {
    return [
      `rejection of message ${view.messageId}: ${view.state}`,
      field('reason', view.reason),
      ...windowLines(view),
    ];
  }
  const lines = [
    `request ${view.idempotencyKey}: ${view.state}`,
    field('asks', `${view.packageId} on ${view.domainName}`),
    field('correlation', view.correlationId),
  ];
  if (view.requestedBy !== undefined) lines.push(field('requested by', view.requestedBy));
  lines.push(
    field('incarnation', view.incarnation),
    field('message', `${view.sourceMessageId} (the copy accepted first)`),
    field('attempts', String(view.attempts)),
    field('accepted', iso(view.acceptedAt)),
    field('lease', formatLease(view.lease)),
  );
  if (view.lastError !== undefined) lines.push(field('last error', view.lastError));
  if (view.callUncertain && view.decision === undefined) {
    lines.push(field('last call', 'uncertain (the next attempt reads the domain first)'));
  }
  if (view.deadline !== undefined && view.state === 'TRACKING') {
    lines.push(field('deadline', `${iso(view.deadline)} (tracking gives up then)`));
  }
  if (view.decision !== undefined) {
    const when = view.decision.decidedAt === undefined ? '' : ` at ${iso(view.decision.decidedAt)}`;
    lines.push(field('decided', `${view.decision.reason ?? '(no reason)'}${when}`));
  }
  return [...lines, ...windowLines(view)];
}
