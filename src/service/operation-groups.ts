/**
 * `group` (docs/DESIGN.md, "Several packages in one operation"): the requests of one associate invocation that
 * reach `lock` for the same free domain meet here and share one `AssociatePackages`.
 */
import type { RequestRecord } from '../domain/ledger.ts';
import type { LockState } from './before-call.ts';
import type { Plan } from './holder-plans.ts';
import type { Delivery } from './rejection.ts';

/** A request ready to take its domain's lock: the record as held, as `ready` left it, and the lock it read. */
export interface GroupMember {
  delivery: Delivery;
  read: RequestRecord;
  ready: RequestRecord;
  seen: LockState;
}

/** What a holder does next, on the record it does it with (as `planFor` answers). */
export interface Planned {
  held: RequestRecord;
  plan: Plan;
}

/** Runs a closed group of two or more: its lock, pins and call, and each member's plan (or error). */
export type GroupRunner = (members: GroupMember[]) => Promise<Map<GroupMember, Planned | Error>>;

/** Members come from parallel records at about the same moment: a group stops waiting this long after the last. */
const QUIET_MS = 100;
/** However members keep coming, a group closes this long after its first. */
const GATE_MS = 1_000;

interface Joined {
  member: GroupMember;
  settle(outcome: Planned | Error | 'alone'): void;
}

interface Gate {
  expected: number;
  /** Lease owners of the records of this domain that have joined or gone another way. */
  arrived: Set<string>;
  joined: Joined[];
  closed: boolean;
  timer?: NodeJS.Timeout;
  deadline: number;
}

/** One invocation's groups, by domain; `expected`: how many records of the invocation name each domain. */
export class OperationGroups {
  readonly #gates = new Map<string, Gate>();
  readonly #run: GroupRunner;
  readonly #maxMembers: number;

  constructor(expected: ReadonlyMap<string, number>, run: GroupRunner, maxMembers: number) {
    for (const [domainName, count] of expected) {
      this.#gates.set(domainName, {
        expected: count,
        arrived: new Set(),
        joined: [],
        closed: false,
        deadline: 0,
      });
    }
    this.#run = run;
    this.#maxMembers = maxMembers;
  }

  /** A record of this domain that will not join (or has finished): the group need not wait for it. */
  leave(domainName: string, owner: string): void {
    const gate = this.#gates.get(domainName);
    if (gate === undefined || gate.closed || gate.arrived.has(owner)) return;
    gate.arrived.add(owner);
    if (gate.arrived.size >= gate.expected && gate.joined.length > 0) this.#close(gate);
  }

  /**
   * Waits for the others: `alone` when nobody else joins (or the group is closed, full, or already carries this
   * package), or this member's plan from the group's lock and call.
   */
  join(member: GroupMember): Promise<Planned | 'alone'> {
    const { domainName, packageId } = member.ready.request;
    const gate = this.#gates.get(domainName);
    const owner = member.delivery.owner;
    if (gate === undefined || gate.closed || gate.joined.length >= this.#maxMembers) {
      this.leave(domainName, owner);
      return Promise.resolve('alone');
    }
    // Two requests for the same pair: one operation cannot carry both; the second waits its turn.
    if (gate.joined.some((joined) => joined.member.ready.request.packageId === packageId)) {
      this.leave(domainName, owner);
      return Promise.resolve('alone');
    }
    return new Promise<Planned | 'alone'>((resolve, reject) => {
      gate.joined.push({
        member,
        settle: (outcome) => (outcome instanceof Error ? reject(outcome) : resolve(outcome)),
      });
      gate.arrived.add(owner);
      if (gate.joined.length === 1) gate.deadline = performance.now() + GATE_MS;
      if (gate.arrived.size >= gate.expected || gate.joined.length >= this.#maxMembers) this.#close(gate);
      else this.#waitQuietly(gate);
    });
  }

  #waitQuietly(gate: Gate): void {
    clearTimeout(gate.timer);
    const wait = Math.max(0, Math.min(QUIET_MS, gate.deadline - performance.now()));
    gate.timer = setTimeout(() => this.#close(gate), wait);
  }

  #close(gate: Gate): void {
    if (gate.closed) return;
    gate.closed = true;
    clearTimeout(gate.timer);
    const { joined } = gate;
    const [only] = joined;
    if (joined.length === 1 && only !== undefined) {
      only.settle('alone');
      return;
    }
    // Never inside a joiner's executor: a runner that threw at once would settle that joiner only.
    Promise.resolve()
      .then(() => this.#run(joined.map((entry) => entry.member)))
      .then(
        (outcomes) => {
          for (const entry of joined) {
            entry.settle(outcomes.get(entry.member) ?? new Error('the group gave this member no plan'));
          }
        },
        (error: unknown) => {
          const failure = error instanceof Error ? error : new Error(String(error));
          for (const entry of joined) entry.settle(failure);
        },
      );
  }
}
