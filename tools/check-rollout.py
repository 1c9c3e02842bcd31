#!/usr/bin/env python3
"""Rollouts against a running local stack (`npm start`), through boto3, the queues and the ledger alone.

Usage:
  npm start -- --port 4599 --association-delay-ms 1000
  python3 tools/check-rollout.py --endpoint http://127.0.0.1:4599      (or AWS_ENDPOINT_URL=…)

Creates a dictionary through the emulator's OpenSearch API (CreatePackage) and waits for it AVAILABLE at v1, then
sends a rollout of it over a pattern (--pattern, default orders-*) on the requests queue and checks that it ends
PackageRolloutCompleted, with every matched domain listing the package ACTIVE at v1 and one decision per domain.
Then it updates the package to v2, makes its association fail on the canary's domain (the emulator's
failAssociation) and rolls v2 out over the same pattern: it must end PackageRolloutHalted after the canary wave,
with no child request of a later wave in the ledger or on the bus and those domains still at v1. Each rollout's
events must arrive once per eventId (copies of one eventId, which at-least-once delivery allows, must be alike).
The first mismatch ends the run with exit code 1. Every run creates a package of its own, so it can run again
on the same stack (each run adds one package to every matched domain; the emulator allows 20 per domain). Needs
boto3; not part of `npm test`.
"""
import argparse
import json
import os
import sys
import time
import urllib.request
import uuid

import botocore.exceptions
from stack_check import ACCOUNT, Mismatch, clients, expect, waiter

EXPECTED_COMMAND = "npm start -- --port 4599 --association-delay-ms 1000"
BUCKET = "search-packages"
ROLLOUT_ENDS = ("PackageRolloutCompleted", "PackageRolloutHalted")
DECISIONS = ("PackageAssociationSucceeded", "PackageAssociationFailed")

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
parser.add_argument("--pattern", default="orders-*",
                    help="the domains to roll out to: a prefix* pattern matching two or more domains (default orders-*)")
parser.add_argument("--wave-size", type=int, default=5, help="the waves after the canary (default 5)")
parser.add_argument("--timeout-seconds", type=float, default=300, help="the longest wait for one step (default 300)")
args = parser.parse_args()

sqs, opensearch, dynamodb = clients(args.endpoint, "sqs", "opensearch", "dynamodb")
QUEUES = f"{args.endpoint}/{ACCOUNT}"
EVENTS_QUEUE = f"{QUEUES}/package-association-events"
LEDGER = "package-associator-ledger"
run = uuid.uuid4().hex[:8]
copies = []  # every event message read: at-least-once delivery, so one eventId may come twice


wait_until = waiter(args.timeout_seconds)


def emulator_put(path, body):
    request = urllib.request.Request(f"{args.endpoint}/_emulator/opensearch/{path}", method="PUT",
                                     data=json.dumps(body).encode(), headers={"content-type": "application/json"})
    with urllib.request.urlopen(request) as answer:
        answer.read()


def drain_events():
    """Reads the events queue as a subscriber does: every message kept, then deleted."""
    answer = sqs.receive_message(QueueUrl=EVENTS_QUEUE, MaxNumberOfMessages=10, WaitTimeSeconds=1)
    for message in answer.get("Messages", []):
        copies.append(json.loads(message["Body"]))
        sqs.delete_message(QueueUrl=EVENTS_QUEUE, ReceiptHandle=message["ReceiptHandle"])


def distinct(events):
    """One event per eventId, in the order first read; copies of one eventId must carry the same detail."""
    by_id = {}
    for event in events:
        first = by_id.setdefault(event["detail"]["eventId"], event)
        if first["detail"] != event["detail"]:
            raise Mismatch(f"eventId {event['detail']['eventId']} arrived with two different details")
    return list(by_id.values())


def label(event):
    kind = event["detail-type"].replace("PackageRollout", "")
    return f"{kind} {event['detail']['wave']}" if kind == "WaveCompleted" else kind


def rollout_events(rollout_id):
    return [e for e in copies if e["detail-type"].startswith("PackageRollout") and e["detail"].get("rolloutId") == rollout_id]


def decisions(rollout_id):
    return {e["detail"]["eventId"]: e for e in copies
            if e["detail-type"] in DECISIONS and e["detail"].get("rolloutId") == rollout_id}.values()


def ledger_record(record_id):
    return dynamodb.get_item(TableName=LEDGER, Key={"id": {"S": record_id}}, ConsistentRead=True).get("Item")


def listed(domain, package_id):
    details = opensearch.list_packages_for_domain(DomainName=domain)["DomainPackageDetailsList"]
    entry = next((d for d in details if d["PackageID"] == package_id), None)
    return None if entry is None else (entry["DomainPackageStatus"], entry.get("PackageVersion"))


def available_at(package_id, version):
    def read():
        pkg = opensearch.describe_packages(Filters=[{"Name": "PackageID", "Value": [package_id]}])["PackageDetailsList"][0]
        ready = pkg["PackageStatus"] == "AVAILABLE" and pkg.get("AvailablePackageVersion") == version
        return pkg if ready else None

    wait_until(read, f"{package_id} AVAILABLE at {version}")
    print(f"  {package_id} AVAILABLE at {version}")


def roll_out(step, package_id, expected_labels):
    """Sends one rollout and waits for its end; checks its distinct events are `expected_labels`, in order."""
    rollout_id = f"check-rollout-{run}-{step}"
    body = {"action": "rollout", "packageId": package_id, "domains": [args.pattern],
            "strategy": {"canary": 1, "waveSize": args.wave_size, "maxFailures": 0}, "idempotencyKey": rollout_id}
    print(f"\n{step}: {json.dumps(body)}")
    started = time.time()
    sqs.send_message(QueueUrl=f"{QUEUES}/package-associator-requests", MessageBody=json.dumps(body))

    def ended():
        drain_events()
        events = rollout_events(rollout_id)
        return events if any(e["detail-type"] in ROLLOUT_ENDS for e in events) else None

    events = wait_until(ended, f"the end of rollout {rollout_id}")
    time.sleep(2)  # events published in the same flush as the end, and late copies, arrive too
    drain_events()
    events = rollout_events(rollout_id)
    unique = distinct(events)
    for event in unique:
        print(f"  {event['detail']['occurredAt']} {label(event)} {json.dumps(event['detail']['counts'])}")
    print(f"  {len(events)} messages for {len(unique)} events, in {time.time() - started:.1f} s")
    expect([label(e) for e in unique] == expected_labels, f"each event once per eventId: {', '.join(expected_labels)}")
    return rollout_id, unique


def completed_rollout(package_id, domains):
    waves = ["Started", "WaveCompleted 0"] + [f"WaveCompleted {n + 1}" for n in range(-(-(len(domains) - 1) // args.wave_size))]
    rollout_id, events = roll_out("complete", package_id, waves + ["Completed"])
    detail = events[-1]["detail"]
    expect(detail["packageVersion"] == "v1", "the rollout's target is v1")
    expect(detail["domains"] == domains, f"it covers {', '.join(domains)}")
    expect(detail["counts"] == {"pending": 0, "running": 0, "succeeded": len(domains), "failed": 0},
           f"{len(domains)} succeeded, none failed")
    decided = sorted((e["detail"]["domainName"], e["detail-type"]) for e in decisions(rollout_id))
    expect(decided == [(d, "PackageAssociationSucceeded") for d in domains], "one Succeeded decision per domain")
    states = {domain: listed(domain, package_id) for domain in domains}
    expect(all(state == ("ACTIVE", "v1") for state in states.values()),
           f"list_packages_for_domain shows {package_id} ACTIVE at v1 on every domain")


def halted_rollout(package_id, domains):
    canary, later = domains[0], domains[1:]
    print(f"\nupdate: UpdatePackage to v2; the association fails on the canary {canary}")
    opensearch.update_package(PackageID=package_id,
                              PackageSource={"S3BucketName": BUCKET, "S3Key": f"synonyms/{run}-v2.txt"})
    available_at(package_id, "v2")
    emulator_put(f"domains/{canary}/packages/{package_id}", {"failAssociation": True})
    try:
        rollout_id, events = roll_out("halt", package_id, ["Started", "WaveCompleted 0", "Halted"])
    finally:
        emulator_put(f"domains/{canary}/packages/{package_id}", {"failAssociation": False})
    detail = events[-1]["detail"]
    expect(detail["outcomes"][canary]["state"] == "FAILED", f"the canary {canary} FAILED")
    expect(detail["counts"] == {"pending": len(later), "running": 0, "succeeded": 0, "failed": 1},
           f"the later waves' {len(later)} domain(s) never started")
    decided = [(e["detail"]["domainName"], e["detail-type"]) for e in decisions(rollout_id)]
    expect(decided == [(canary, "PackageAssociationFailed")], "one decision, the canary's Failed")
    children = [f"request#{rollout_id}/{domain}" for domain in later]
    expect(all(ledger_record(child) is None for child in children), "no ledger record of a later wave's child")
    keys = {f"{rollout_id}/{domain}" for domain in later}
    expect(not any(e["detail"].get("idempotencyKey") in keys for e in copies), "no event of a later wave's child")
    expect(all(listed(domain, package_id) == ("ACTIVE", "v1") for domain in later),
           "the later waves' domains are still ACTIVE at v1")
    expect(ledger_record(f"rollout#{rollout_id}")["state"]["S"] == "HALTED", "the ledger's rollout record is HALTED")


def matched_domains():
    prefix = args.pattern.rstrip("*")
    names = sorted(d["DomainName"] for d in opensearch.list_domain_names()["DomainNames"])
    domains = [name for name in names if name.startswith(prefix)] if args.pattern.endswith("*") else []
    if len(domains) < 2:
        raise Mismatch(f"--pattern {args.pattern} must be a prefix* pattern matching two or more domains, "
                       f"matched {domains} of {names}")
    return domains


def check_reachable():
    try:
        sqs.get_queue_url(QueueName="package-associator-requests")
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ClientError) as error:
        print(f"No local stack at {args.endpoint} ({error}).\nStart one with:\n  {EXPECTED_COMMAND}", file=sys.stderr)
        sys.exit(2)


check_reachable()
print(f"Against {args.endpoint}; expects a stack started with (or like):\n  {EXPECTED_COMMAND}")
try:
    domains = matched_domains()
    print(f"\n{args.pattern} matches {len(domains)} domains: {', '.join(domains)}")
    print("\ncreate: a dictionary through CreatePackage")
    created = opensearch.create_package(PackageName=f"rollout-{run}", PackageType="TXT-DICTIONARY",
                                        PackageSource={"S3BucketName": BUCKET, "S3Key": f"synonyms/{run}-v1.txt"})
    package = created["PackageDetails"]["PackageID"]
    available_at(package, "v1")
    completed_rollout(package, domains)
    halted_rollout(package, domains)
except Mismatch as mismatch:
    print(f"  FAIL {mismatch}")
    sys.exit(1)
print("\nall steps as expected")
