import type { Reconciliation } from './reconcile.ts';
import type { SoakFaults, SoakOptions, SoakResult } from './run.ts';
import { SOAK_TIMING } from './run.ts';

/** The generated part of docs/RELIABILITY.md sits between these markers; the rest is written by hand. */
export const SECTION_BEGIN = '<!-- soak-result:begin (written by npm run soak) -->';
export const SECTION_END = '<!-- soak-result:end -->';

const percent = (rate: number) => `${Math.round(rate * 1000) / 10} %`;

function row(cells: (string | number)[]): string {
  return `| ${cells.map((cell) => String(cell).replaceAll('|', '\\|')).join(' | ')} |`;
}

function table(header: string[], rows: (string | number)[][]): string {
  return [row(header), row(header.map(() => '---')), ...rows.map(row)].join('\n');
}

function sortedEntries(counts: Record<string, number>): [string, number][] {
  return Object.entries(counts).sort(([a], [b]) => a.localeCompare(b));
}

function describeFaults(faults: SoakFaults): (string | number)[][] {
  const { openSearch, eventBridge, dynamoDb, runner } = faults;
  const spike = openSearch.latencySpike;
  return [
    [
      'OpenSearch API',
      `ThrottlingException ${percent(openSearch.throttlingRate)}, InternalException ${percent(openSearch.internalErrorRate)} of all calls; ConflictException (update in progress) ${percent(openSearch.conflictRate)} and LostAnswer (takes effect, connection reset) ${percent(openSearch.lostAnswerRate)} of AssociatePackage and AssociatePackages; +${spike.latencyMs} ms on every call for ${spike.durationMs} ms about every ${spike.everyMs / 1000} s`,
    ],
    [
      'EventBridge PutEvents',
      `${percent(eventBridge.entryFailureRate)} of entries InternalFailure, ${percent(eventBridge.throttleRate)} of calls ThrottlingException`,
    ],
    [
      'DynamoDB (request ledger)',
      `${percent(dynamoDb.rate)} of calls InternalServerError or ProvisionedThroughputExceededException, ${percent(dynamoDb.lostAnswerRate)} LostAnswer (the write lands, the answer is lost)`,
    ],
    [
      'Lambda runner',
      `${percent(runner.crashRate)} of invocations crash after the handler ran, ${percent(runner.timeoutRate)} time out at a random point (nothing deleted)`,
    ],
  ];
}

function outcomeRows(result: SoakResult): (string | number)[][] {
  const r: Reconciliation = result.reconciliation;
  const { associatePackage: calls } = r;
  const perRequest = calls.requestsReachingAws === 0 ? 0 : calls.calls / calls.requestsReachingAws;
  return [
    ['unique requests sent', r.uniqueRequests],
    [
      'messages sent (duplicates included)',
      `${r.messagesSent} (duplicates: ${r.duplicatesSent.concurrent} concurrent, ${r.duplicatesSent['after-terminal']} after the original ended)`,
    ],
    ['terminal `Succeeded`', r.succeeded],
    ...sortedEntries(r.failedByReason).map(([reason, count]) => [`terminal \`Failed\`: ${reason}`, count]),
    ...sortedEntries(r.requestDeadLettersByReason).map(([reason, count]) => [
      `requests DLQ: ${reason}`,
      count,
    ]),
    ...sortedEntries(r.trackingDeadLettersByReason).map(([reason, count]) => [
      `tracking DLQ: ${reason}`,
      count,
    ]),
    ['still in flight', r.inFlight],
    ['dead-lettered without a decision of their own', r.deadLetteredWithoutTerminalEvent],
    ['**lost (must be 0)**', `**${r.lost}**`],
    ['**requests with two decisions (must be 0)**', `**${r.duplicateTerminalEvents}**`],
    ['**messages rejected twice (must be 0)**', `**${r.repeatedRejections}**`],
    ['dead-lettered twice (must be 0)', r.duplicateDeadLetters],
    ['requests announced `Started` twice (must be 0)', r.duplicateStartedEvents],
    ['events published again under their own `eventId` (at least once; de-duplicated)', r.republishedEvents],
    ['outcome other than planned (must be 0)', r.unexpectedOutcomes],
    ['`Failed` without the dead letter its reason calls for (must be 0)', r.failedWithoutDeadLetter],
    [
      'rejected messages not in the DLQ byte for byte with their reason (must be 0)',
      r.invalidNotDeadLetteredVerbatim,
    ],
    ['events for no request sent (must be 0)', r.unattributedEvents],
    ['`Succeeded` for a pair the emulator does not report ACTIVE (must be 0)', r.succeededButNotActive],
    ['`requestedBy` changed on its way to an event (must be 0)', r.freeTextChanged],
    [
      '`AssociatePackage` calls: all / succeeded / failed',
      `${calls.calls} / ${calls.succeeded} / ${calls.failed}`,
    ],
    ['`AssociatePackage` calls per unique request that reaches AWS', perRequest.toFixed(2)],
    [
      'successful `AssociatePackage` calls ≤ associated (domain, package) pairs',
      `${calls.succeeded} ≤ ${calls.associatedPairs}`,
    ],
  ];
}

function injectedRows(result: SoakResult): (string | number)[][] {
  const { stats } = result;
  const openSearch = Object.entries(stats.openSearch).map(([operation, count]) => [
    `OpenSearch ${operation}: calls / failed`,
    `${count.calls} / ${count.failed}`,
  ]);
  return [
    ...openSearch,
    [
      'EventBridge: PutEvents calls / throttled / entries accepted / entries failed',
      `${stats.eventBridge.calls} / ${stats.eventBridge.throttled} / ${stats.eventBridge.entriesAccepted} / ${stats.eventBridge.entriesFailed}`,
    ],
    ['DynamoDB: calls / injected errors', `${stats.dynamoDb.calls} / ${stats.dynamoDb.faultsInjected}`],
    [
      'associate-package invocations / crashed / timed out',
      `${stats.associateRunner.invocations} / ${stats.injectedCrashes} (both functions) / ${stats.injectedTimeouts} (both functions)`,
    ],
    ['track-association invocations', stats.trackRunner.invocations],
  ];
}

/** The markdown of one run: settings, the reconciliation table, the faults that were injected, violations. */
export function formatReport(result: SoakResult, options: SoakOptions): string {
  const { reconciliation } = result;
  const passed = reconciliation.violations.length === 0;
  const verdict = passed
    ? '**PASSED**: no request lost, none announced twice'
    : `**FAILED**: ${reconciliation.violations.join('; ')}`;
  const seconds = (result.durationMs / 1000).toFixed(0);
  const settings = table(
    ['setting', 'value'],
    [
      ['date', result.startedAt.toISOString()],
      ['messages sent (`--requests`)', options.messages],
      ['seed (`--seed`)', options.seed],
      ['duplicates (`--duplicates`)', percent(options.duplicateRate)],
      ['invalid bodies (`--invalid`)', percent(options.invalidRate)],
      ['send rate', `${options.sendRatePerSecond} messages/s`],
      ...describeFaults(options.faults),
      [
        'timing',
        `MAX_ATTEMPTS ${result.stats.maxAttempts}, backoff ${SOAK_TIMING.handlerEnvironment.BACKOFF_BASE_SECONDS}–${SOAK_TIMING.handlerEnvironment.BACKOFF_MAX_SECONDS} s, visibility timeout ${SOAK_TIMING.visibilityTimeoutSeconds} s, function timeout ${SOAK_TIMING.functionTimeoutSeconds} s, association takes ${SOAK_TIMING.associationDelayMs} ms`,
      ],
    ],
  );
  const sections = [
    `### Result of ${result.startedAt.toISOString().slice(0, 10)}: ${verdict}`,
    `${reconciliation.uniqueRequests} unique requests in ${seconds} s; ${
      result.drained ? 'every queue drained' : 'the drain deadline passed with messages still queued'
    }.`,
    settings,
    table(['measure', 'count'], outcomeRows(result)),
    '#### Faults the run went through',
    table(['where', 'count'], injectedRows(result)),
  ];
  const examples = Object.entries(reconciliation.examples).filter(([, list]) => list.length > 0);
  if (examples.length > 0) {
    sections.push(
      '#### Examples',
      table(
        ['check', 'request', 'kind', 'idempotency key', 'what'],
        examples.flatMap(([check, list]) =>
          list.map((example) => [
            check,
            example.requestId,
            example.kind,
            example.idempotencyKey,
            example.detail,
          ]),
        ),
      ),
    );
  }
  return `${sections.join('\n\n')}\n`;
}

/** Puts a run's report between the markers of the document, keeping what is written around them. */
export function withSoakSection(document: string | undefined, report: string): string {
  const section = `${SECTION_BEGIN}\n${report}${SECTION_END}`;
  if (document === undefined) return `# Reliability\n\n${section}\n`;
  const begin = document.indexOf(SECTION_BEGIN);
  const end = document.indexOf(SECTION_END);
  if (begin === -1 || end === -1 || end < begin) return `${document.trimEnd()}\n\n${section}\n`;
  return `${document.slice(0, begin)}${section}${document.slice(end + SECTION_END.length)}`;
}
