/**
 * 8. Pacing under throttling: a burst over 10 domains and 100 packages through the local stack with the
 * OpenSearch emulator limited to 10 calls/s, once with the OpenSearch client as shipped (the SDK's standard retry
 * mode) and once with its adaptive mode, both at the same time in stacks of their own.
 */
import type { CallCount } from '../../local/opensearch/index.ts';
import {
  ASSOCIATION_DELAY_MS,
  CLEAN_PATH_CALLS,
  DOMAINS,
  PACKAGES,
  type PacingRun,
  pacingRun,
  RATE_LIMIT,
} from './lib/pacing-run.ts';
import { row, type SectionResult, verdictOf } from './lib/report.ts';
import { int, percent, percentile } from './lib/stats.ts';

export const GOODPUT_TARGET = 0.7;

interface Analysis {
  totalSeconds: number;
  perSecond: number;
  acceptedPerRequest: number;
  throttledPerRequest: number;
  /** The completions per second the limit allows at the calls each request made. */
  allows: number;
  throttledShare: number;
  p50Seconds: number;
  p90Seconds: number;
  /** Decisions per second between the 10th and the 90th percentile decision: the burst without its ends. */
  middlePerSecond: number;
  /** Accepted calls per second over the run, as a share of the limit. */
  limitUsed: number;
  /** Time some request held a domain (Started to its decision), over domains × the run. */
  domainsLocked: number;
  /** Mean time a domain sat free between one request's decision and the next one's Started. */
  meanGapSeconds: number;
  byOperation: string;
  maxInvocationSeconds: number;
}

/** Per domain, in order of Started: how long each request held it, and the gaps between them. */
function domainTimes(run: PacingRun): { heldMs: number; gapsMs: number[] } {
  const byDomain = new Map<string, { startedMs: number; decidedMs: number }[]>();
  for (const { pair, startedMs, decidedMs } of run.timelines) {
    if (startedMs === undefined) continue;
    const list = byDomain.get(pair.domainName) ?? [];
    list.push({ startedMs, decidedMs });
    byDomain.set(pair.domainName, list);
  }
  let heldMs = 0;
  const gapsMs: number[] = [];
  for (const list of byDomain.values()) {
    list.sort((a, b) => a.startedMs - b.startedMs);
    list.forEach((entry, index) => {
      heldMs += entry.decidedMs - entry.startedMs;
      const previous = list[index - 1];
      if (previous !== undefined) gapsMs.push(Math.max(0, entry.startedMs - previous.decidedMs));
    });
  }
  return { heldMs, gapsMs };
}

export function analyse(run: PacingRun): Analysis {
  const counts = Object.entries(run.calls).filter(([, count]) => count.calls > 0);
  const sum = (field: keyof CallCount) => counts.reduce((total, [, count]) => total + count[field], 0);
  const throttled = sum('throttled');
  const accepted = sum('calls') - throttled;
  const decided = run.timelines.map((timeline) => timeline.decidedMs);
  const totalSeconds = Math.max(...decided) / 1000;
  const acceptedPerRequest = accepted / run.requests;
  const { heldMs, gapsMs } = domainTimes(run);
  return {
    totalSeconds,
    perSecond: run.requests / totalSeconds,
    acceptedPerRequest,
    throttledPerRequest: throttled / run.requests,
    allows: RATE_LIMIT / acceptedPerRequest,
    throttledShare: throttled / (accepted + throttled),
    p50Seconds: percentile(decided, 50) / 1000,
    p90Seconds: percentile(decided, 90) / 1000,
    middlePerSecond: (0.8 * run.requests * 1000) / (percentile(decided, 90) - percentile(decided, 10)),
    limitUsed: accepted / totalSeconds / RATE_LIMIT,
    domainsLocked: heldMs / 1000 / (DOMAINS * totalSeconds),
    meanGapSeconds: gapsMs.length === 0 ? 0 : gapsMs.reduce((a, b) => a + b, 0) / gapsMs.length / 1000,
    maxInvocationSeconds: run.maxDurationMs / 1000,
    byOperation: counts
      .map(([name, count]) => {
        const perRequest = (value: number) => (value / run.requests).toFixed(2);
        return `${name} ${perRequest(count.calls - count.throttled)} + ${perRequest(count.throttled)}`;
      })
      .join(', '),
  };
}

const seconds = (value: number) => `${value.toFixed(0)} s`;
const rate = (value: number) => `${value.toFixed(2)}/s`;

function rows(requests: number, ours: Analysis, standard: Analysis) {
  const share = ours.perSecond / ours.allows;
  return [
    row(
      `Burst of ${int(requests)} requests, completed per second`,
      `${rate(ours.perSecond)} (${percent(share)} of what the limit allows)`,
      `limit ÷ calls per request ${rate(ours.allows)}; adaptive retry ${rate(standard.perSecond)} (${percent(standard.perSecond / standard.allows)} of ${rate(standard.allows)})`,
      `≥ ${percent(GOODPUT_TARGET)} of what the limit allows`,
      verdictOf(share >= GOODPUT_TARGET),
    ),
    row(
      'Same, from the 10th to the 90th percentile decision',
      `${rate(ours.middlePerSecond)} (${percent(ours.middlePerSecond / ours.allows)})`,
      `adaptive retry ${rate(standard.middlePerSecond)} (${percent(standard.middlePerSecond / standard.allows)})`,
    ),
    row(
      'OpenSearch calls per request, accepted + throttled',
      `${ours.acceptedPerRequest.toFixed(2)} + ${ours.throttledPerRequest.toFixed(2)}`,
      `clean path ${CLEAN_PATH_CALLS} (allows ${rate(RATE_LIMIT / CLEAN_PATH_CALLS)}); adaptive retry ${standard.acceptedPerRequest.toFixed(2)} + ${standard.throttledPerRequest.toFixed(2)}`,
    ),
    row(
      'Share of calls throttled',
      percent(ours.throttledShare),
      `adaptive retry ${percent(standard.throttledShare)}`,
    ),
    row(
      'Decided: half / 90% / all',
      `${seconds(ours.p50Seconds)} / ${seconds(ours.p90Seconds)} / ${seconds(ours.totalSeconds)}`,
      `adaptive retry ${seconds(standard.p50Seconds)} / ${seconds(standard.p90Seconds)} / ${seconds(standard.totalSeconds)}`,
    ),
    row(
      'Longest invocation (timeout 30 s)',
      `${ours.maxInvocationSeconds.toFixed(1)} s`,
      `adaptive retry ${standard.maxInvocationSeconds.toFixed(1)} s`,
    ),
    row(
      'Limit used; domains locked; mean free gap on a domain',
      `${percent(ours.limitUsed)}; ${percent(ours.domainsLocked)}; ${ours.meanGapSeconds.toFixed(1)} s`,
      `adaptive retry ${percent(standard.limitUsed)}; ${percent(standard.domainsLocked)}; ${standard.meanGapSeconds.toFixed(1)} s`,
    ),
  ];
}

export async function pacing(requests: number): Promise<SectionResult> {
  const [oursRun, standardRun] = await Promise.all([
    pacingRun('standard', requests),
    pacingRun('adaptive', requests),
  ]);
  return pacingSection(oursRun, standardRun);
}

/** The section's rows and text from the two runs (of the same burst). */
export function pacingSection(oursRun: PacingRun, standardRun: PacingRun): SectionResult {
  const { requests } = oursRun;
  const ours = analyse(oursRun);
  const standard = analyse(standardRun);
  const outcomes = (run: PacingRun) =>
    `${run.succeeded} succeeded, ${run.failed} failed, ${run.deadLettered} dead-lettered${run.undecided > 0 ? `, ${run.undecided} undecided at the 10-minute limit` : ''}`;
  const details = `### 8. Pacing under throttling

Two local stacks, each in a process of its own (\`tools/bench/lib/stack-process.ts\`) and each with its own
OpenSearch emulator limited to ${RATE_LIMIT} calls/s for the account (a token bucket holding ${RATE_LIMIT} calls,
refusing the rest with \`ThrottlingException\`, HTTP 400, as AWS does), run the same burst at the same time:
${int(requests)} requests, package \`F${9001}\`…\`F${9000 + Math.min(requests, PACKAGES)}\` spread over
\`orders-1\`…\`orders-${DOMAINS}\` (${int(requests / DOMAINS)} per domain), all sent at once, each followed until its
\`Succeeded\` or \`Failed\` event (or dead letter) arrives. One stack runs the OpenSearch client as
\`src/adapters/clients.ts\` builds it (the SDK's standard retry mode), the other with \`AWS_RETRY_MODE=adaptive\`. Both run as deployed (one operation per domain, the tracker's checks, the retry backoff of
serverless.yml) except for the emulator's association, which takes ${ASSOCIATION_DELAY_MS} ms instead of minutes,
and so the tracker's first check, after 1 s instead of 15. ${int(requests)} requests, not 1,000: at
${CLEAN_PATH_CALLS} calls each the limit alone needs ${int((1000 * CLEAN_PATH_CALLS) / RATE_LIMIT)} s for 1,000, past the few minutes a
bench section may take; each package is asked for once. Ours: ${outcomes(oursRun)}; adaptive: ${outcomes(standardRun)}.

"What the limit allows" is ${RATE_LIMIT} calls/s over the calls the emulator accepted per request (a throttled call
spends nothing of the limit); completed per second is requests over the time from the burst to the last decision.
Calls per request by operation, accepted + throttled: ours ${ours.byOperation}; adaptive ${standard.byOperation}.

**Decided: standard.** Both modes make 3 attempts per read (the SDK's default, kept); an operation
(\`AssociatePackage\`, \`DissociatePackage\`) is retried by the SDK only after a throttle, since after a reset or a
5xx it may have taken effect (\`src/adapters/clients.ts\`). The standard mode retries a throttled call after a
random wait of up to 1 s, then 2 s, whatever the rate: ${percent(ours.throttledShare)} of its calls were throttled here,
${ours.throttledPerRequest.toFixed(1)} per request. The adaptive mode adds a client-side rate per execution environment
that drops by 30% at each throttle and climbs back when they stop: ${percent(standard.throttledShare)} throttled,
${standard.throttledPerRequest.toFixed(1)} per request. It was shipped for a while for that smaller share, and dropped:
each environment paces itself as if it were alone and waits for its tokens inside the invocation, so under
throttling that comes at random rather than by rate (the soak's \`--fault-scale 4\`, 60% of calls) its rate fell
to almost nothing. After 241 s only 17 of 300 requests had ended, against 203 with the standard mode, and two
800-request soaks took 185 s and 164 s instead of 72 s. A burst that stalls is worse than one that wastes
throttled calls; here half the burst was decided after ${seconds(ours.p50Seconds)} with the standard mode against
${seconds(standard.p50Seconds)} with the adaptive one. A team whose account is throttled by other tools can still choose
it with \`AWS_RETRY_MODE=adaptive\` (the reads honour it; the operations keep their own strategy).

**What else was done: the domain lock is read before \`ready\`.** A request that finds its domain locked to another
one waits (\`DomainBusy\`); it used to ask \`DescribePackages\` and \`DescribeDomain\` first, two calls per wait that
only said what the lock then did. Measured with this section while it was written (then with the adaptive mode, ${int(requests)}
requests): 9.9 accepted and 2.5 throttled calls per request before, 6.6 and 1.4 after.

**What moved it: the waiters woken, and waits not backed off for minutes.** While this section was
first written, a request that found its domain busy went back to the queue for the retry backoff of its own
attempt count (5 s, doubling to 900 s), so a domain sat free about 11 s between one request's decision and the
next one's start, and the burst went at 0.39 requests/s, 21% of what the limit allows, with the limit used at
21%. Two changes since: \`unlock\` makes the waiters' messages visible at once (the oldest only at first, now all
of them, docs/DESIGN.md, "The waiters are woken at \`unlock\`"), and the backoff of a throttle, and now of a wait
for a busy domain, stops growing after its third attempt, since a request that had waited its turn several times
then sat out minutes for one throttled read (the tail: with the wake-up
alone, a run decided 60% of what the limit allows, the last request after 89 s; another, with 5 SDK attempts
for reads, which were not kept, 40%, the last after 142 s). Here the
mean free gap on a domain was ${ours.meanGapSeconds.toFixed(1)} s, the domains were locked ${percent(ours.domainsLocked)} of
the run and the limit was used ${percent(ours.limitUsed)} of it: the middle of the burst runs at the limit, and what is left is the tail. Half the burst was
decided in ${seconds(ours.p50Seconds)}, the last request after ${seconds(ours.totalSeconds)}; from the 10th to the 90th
percentile decision the burst went at ${rate(ours.middlePerSecond)}, ${percent(ours.middlePerSecond / ours.allows)} of
what the limit allows (above 100% where the bucket's burst of ${RATE_LIMIT} calls is spent). Runs vary by about 25
points of the headline share (57% to 84% over the four runs made while this was written; the 70% target was met
in one): the tail decides it. A read throttled on all 3 of its attempts (about one in ten at this throttled share)
sends its request back for 10 to 20 s, and the burst's last requests pay it.

**What bounds it now: the calls each request makes, and the tail.** What the limit allows is ${RATE_LIMIT} calls/s over
the ${ours.acceptedPerRequest.toFixed(1)} calls each request made here. Requests of one domain that meet in one
invocation share one \`AssociatePackages\`, one \`DescribeDomain\` and one status check per round, and their
\`DescribePackages\` (docs/DESIGN.md, "Several packages in one operation"; section 9 measures it on 1,000 requests):
here ${ours.acceptedPerRequest < CLEAN_PATH_CALLS ? 'under' : 'still not under'} the ${CLEAN_PATH_CALLS} calls of a request alone. In AWS an association takes
minutes, so a domain's queue, not the control plane, bounds a burst for few domains; the limit binds when a burst
spans many domains at once.
`;
  return {
    title: `8. Pacing under throttling (${RATE_LIMIT} OpenSearch calls/s)`,
    rows: rows(requests, ours, standard),
    details,
  };
}
