/**
 * A closed group's `lock`, `pin` and `call` (docs/DESIGN.md, "Several packages in one operation"): one lock
 * naming every member, each member's own `pin`, one `AssociatePackages`, and each member's plan from it.
 */
import { lockedBy, lockHolderOf, lockMembers } from '../domain/domain-lock.ts';
import type { RequestRecord } from '../domain/ledger.ts';
import {
  doneByListing,
  type LockState,
  listingBeforeLock,
  lockState,
  pinCall,
  wait,
  waitForDomain,
} from './before-call.ts';
import { associationPlan, callAws, type Plan, planAfterCallError } from './holder-plans.ts';
import { runStep } from './ledger-steps.ts';
import type { GroupMember, Planned } from './operation-groups.ts';
import { TransientFailure } from './runtime.ts';
import { leaveGroupLock } from './unlock.ts';

type Outcomes = Map<GroupMember, Planned | Error>;

/** A wait keeps the record as read (the target `ready` chose is chosen again next time); an end takes `ready`'s. */
const planned = (member: GroupMember, plan: Plan): Planned =>
  plan.kind === 'retry' ? { held: member.read, plan } : { held: member.ready, plan };

export async function runGroup(members: GroupMember[]): Promise<Outcomes> {
  const outcomes: Outcomes = new Map();
  const [lead] = members;
  if (lead === undefined) return outcomes;
  await runStep(lead.delivery.deps.stepHook, 'group', async () => undefined);
  const locked = await lockForGroup(members, outcomes);
  const pinned: { member: GroupMember; held: RequestRecord }[] = [];
  await Promise.all(
    locked.map(async (member) => {
      try {
        pinned.push({ member, held: await pinCall(member.delivery, member.ready) });
      } catch (error) {
        outcomes.set(member, error instanceof Error ? error : new Error(String(error)));
      }
    }),
  );
  const unpinned = locked.filter((member) => outcomes.has(member));
  if (unpinned.length > 0) await leaveQuietly(unpinned);
  const [only] = pinned;
  if (pinned.length === 1 && only !== undefined) {
    outcomes.set(only.member, { held: only.held, plan: await callAws(only.member.delivery, only.held) });
  } else if (pinned.length > 1) {
    await callTogether(pinned, outcomes);
  }
  return outcomes;
}

/**
 * `lock` for the group: every member waits while a live request holds the domain or the listing shows an
 * operation running; a member the listing shows at its end state is decided there. The members left are named
 * by one conditional write, and returned.
 */
async function lockForGroup(members: GroupMember[], outcomes: Outcomes): Promise<GroupMember[]> {
  const [lead] = members as [GroupMember, ...GroupMember[]];
  const { ledger, now, stepHook } = lead.delivery.deps;
  const { domainName } = lead.ready.request;
  let callers = members;
  for (let round = 0; round < 3; round += 1) {
    const [first = lead] = callers;
    const state: LockState = round === 0 ? lead.seen : await lockState(first.delivery, first.ready);
    if (state.busy !== undefined) {
      for (const member of callers) {
        outcomes.set(member, planned(member, waitForDomain(member.delivery, member.read, state)));
      }
      return [];
    }
    if (state.ours && !namesOnly(state.current, members)) {
      // The members of an earlier group met again without all of the others: each goes on alone.
      await leaveTogether(callers);
      for (const member of callers) {
        const plan = wait(
          'DomainBusy',
          `${domainName} is held by a group some of whose members are elsewhere`,
        );
        outcomes.set(member, planned(member, plan));
      }
      return [];
    }
    if (state.current?.kind !== 'domain-lock' || state.current.idle !== true) {
      const listed = await listingBeforeLock(lead.delivery, domainName);
      if (!Array.isArray(listed)) {
        for (const member of callers) outcomes.set(member, planned(member, listed));
        return [];
      }
      callers = callers.filter((member) => {
        const done = doneByListing(member.ready, listed);
        if (done !== undefined) outcomes.set(member, planned(member, done));
        return done === undefined;
      });
    }
    const [holder, ...companions] = callers.map(({ ready }) => ({
      ...lockHolderOf(ready),
      packageId: ready.request.packageId,
    }));
    if (holder === undefined) return [];
    const next = lockedBy(state.current, domainName, holder, now(), companions);
    const result = await runStep(stepHook, 'lock', () =>
      ledger.write(next, state.current, lead.delivery.writeId()),
    );
    if (result.written) return callers;
  }
  throw new TransientFailure('LedgerRace', `the lock of ${domainName} kept changing`);
}

/** Whether every request the lock names is one of these members (an earlier group, met again whole). */
function namesOnly(lock: LockState['current'], members: GroupMember[]): boolean {
  return lockMembers(lock).every((listed) =>
    members.some(
      ({ ready }) =>
        ready.request.idempotencyKey === listed.idempotencyKey && ready.incarnation === listed.incarnation,
    ),
  );
}

/** Members that will not be called take themselves off at once; failing that, each does before going on. */
async function leaveQuietly(members: GroupMember[]): Promise<void> {
  const [lead] = members;
  if (lead === undefined) return;
  const { deps } = lead.delivery;
  const listed = members.map(({ ready }) => lockHolderOf(ready));
  try {
    await leaveGroupLock(deps, lead.ready.request.domainName, listed, lead.delivery.writeId());
  } catch (error) {
    deps.logger.warn('could not take members off the lock', {
      domainName: lead.ready.request.domainName,
      error,
    });
  }
}

/** Every member off the lock (those it does not name are passed over); not quietly: a member left listed must not call. */
async function leaveTogether(members: GroupMember[]): Promise<void> {
  const [lead] = members;
  if (lead === undefined) return;
  const listed = members.map(({ ready }) => lockHolderOf(ready));
  await leaveGroupLock(lead.delivery.deps, lead.ready.request.domainName, listed, lead.delivery.writeId());
}

/**
 * `call` for the group: one `AssociatePackages`. The entry its answer holds for a member's package is that
 * member's answer; a member it leaves out is read by the listing next time, as after an unseen answer. An
 * error is every member's (see `planAfterCallError`).
 */
async function callTogether(pinned: { member: GroupMember; held: RequestRecord }[], outcomes: Outcomes) {
  const [first] = pinned as [(typeof pinned)[number], ...typeof pinned];
  const { deps } = first.member.delivery;
  const { domainName } = first.held.request;
  // One draw for the group: its tracking messages come back at the same moment, to the same tracker invocation.
  const delayDraw = deps.random();
  let answers: Awaited<ReturnType<typeof deps.associations.associateMany>>;
  try {
    answers = await runStep(deps.stepHook, 'call', () =>
      deps.associations.associateMany(
        domainName,
        pinned.map(({ held }) => held.request),
      ),
    );
  } catch (error) {
    await Promise.all(
      pinned.map(async ({ member, held }) => {
        outcomes.set(member, { held, plan: await planAfterCallError(member.delivery, held, error, true) });
      }),
    );
    await leaveIfNothingStarted(pinned, outcomes);
    return;
  }
  for (const { member, held } of pinned) {
    const answer = answers.find((entry) => entry.packageId === held.request.packageId);
    if (answer === undefined) {
      const message = `AssociatePackages answered nothing for ${held.request.packageId}`;
      outcomes.set(member, {
        held,
        plan: { kind: 'retry', code: 'GroupAnswerIncomplete', message, uncertain: true },
      });
      continue;
    }
    const { packageId: _id, ...details } = answer;
    const plan = associationPlan(details, held, 'call');
    outcomes.set(member, { held, plan: plan.kind === 'follow' ? { ...plan, delayDraw } : plan });
  }
}

/**
 * AWS answered the group's operation with a refusal or a throttle, before doing anything: the group leaves the
 * lock at once, so that its members, back after their backoff, can meet again rather than leave one by one.
 */
async function leaveIfNothingStarted(
  pinned: { member: GroupMember; held: RequestRecord }[],
  outcomes: Outcomes,
) {
  const certain = pinned.every(({ member }) => {
    const outcome = outcomes.get(member);
    return (
      outcome !== undefined &&
      !(outcome instanceof Error) &&
      outcome.plan.kind === 'retry' &&
      !outcome.plan.uncertain
    );
  });
  if (certain) await leaveQuietly(pinned.map(({ member }) => member));
}
