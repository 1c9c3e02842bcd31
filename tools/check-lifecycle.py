#!/usr/bin/env python3
"""The whole package lifecycle against a running local stack (`npm start`), through boto3 and the queues alone.

Usage:
  npm start -- --port 4599 --deadline-seconds 5 --plugin-association-delay-ms 10000 --association-delay-ms 1000
  python3 tools/check-lifecycle.py --endpoint http://127.0.0.1:4599      (or AWS_ENDPOINT_URL=…)

Creates a dictionary through the emulator's OpenSearch API (CreatePackage) and waits for it AVAILABLE at v1;
associates it with catalog-search (a request on the requests queue) and waits for Succeeded on the events queue;
updates it (UpdatePackage), waits for v2, associates it again and checks Succeeded at v2 and the domain's listing
at v2; dissociates it and checks PackageDissociationSucceeded and the listing without it; then creates a plugin
and associates it: its blue/green deployment outlives the dictionaries' deadline (--deadline-seconds) and must
still succeed. Each step prints its events; the first mismatch ends the run with exit code 1. Every run creates
packages of its own, so it can run again on the same stack. Needs boto3; not part of `npm test`.
"""
import argparse
import json
import os
import sys
import urllib.request
import uuid
from datetime import datetime

import botocore.exceptions
from stack_check import ACCOUNT, Mismatch, clients, expect, waiter

EXPECTED_COMMAND = (
    "npm start -- --port 4599 --deadline-seconds 5 --plugin-association-delay-ms 10000 --association-delay-ms 1000"
)
DOMAIN = "catalog-search"
BUCKET = "search-packages"
DECISIONS = ("Succeeded", "Failed")
# TRACKING_FIRST_DELAY_SECONDS (15 in npm start) with its +20 % jitter.
FIRST_CHECK_MAX_SECONDS = 18

parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL", "http://127.0.0.1:4566"))
parser.add_argument("--deadline-seconds", type=float, default=5,
                    help="the stack's --deadline-seconds, which the plugin's deployment must outlive (default 5)")
parser.add_argument("--timeout-seconds", type=float, default=120, help="the longest wait for one step (default 120)")
args = parser.parse_args()

sqs, opensearch = clients(args.endpoint, "sqs", "opensearch")
QUEUES = f"{args.endpoint}/{ACCOUNT}"
run = uuid.uuid4().hex[:8]
received = {}  # eventId -> event: at-least-once delivery, so one event may arrive twice


wait_until = waiter(args.timeout_seconds)


def admin_state():
    with urllib.request.urlopen(f"{args.endpoint}/_emulator/opensearch/state") as answer:
        return json.loads(answer.read())


def describe(package_id):
    answer = opensearch.describe_packages(Filters=[{"Name": "PackageID", "Value": [package_id]}])
    return answer["PackageDetailsList"][0]


def available_at(package_id, version=None):
    def read():
        pkg = describe(package_id)
        if pkg["PackageStatus"] in ("COPY_FAILED", "VALIDATION_FAILED"):
            raise Mismatch(f"{package_id} ended {pkg['PackageStatus']}")
        ready = pkg["PackageStatus"] == "AVAILABLE" and version in (None, pkg.get("AvailablePackageVersion"))
        return pkg if ready else None

    pkg = wait_until(read, f"{package_id} AVAILABLE{'' if version is None else f' at {version}'}")
    print(f"  {package_id} {pkg['PackageStatus']} at {pkg.get('AvailablePackageVersion')}")
    return pkg


def on_domain(package_id):
    listed = opensearch.list_packages_for_domain(DomainName=DOMAIN)["DomainPackageDetailsList"]
    return next((details for details in listed if details["PackageID"] == package_id), None)


def drain_events():
    """Reads the events queue as a subscriber does: every message kept (by eventId), then deleted."""
    answer = sqs.receive_message(QueueUrl=f"{QUEUES}/package-association-events", MaxNumberOfMessages=10,
                                 WaitTimeSeconds=1)
    for message in answer.get("Messages", []):
        event = json.loads(message["Body"])
        received.setdefault(event["detail"]["eventId"], event)
        sqs.delete_message(QueueUrl=f"{QUEUES}/package-association-events", ReceiptHandle=message["ReceiptHandle"])


def events_of(key):
    return sorted((e for e in received.values() if e["detail"].get("idempotencyKey") == key),
                  key=lambda e: e["detail"]["occurredAt"])


def request(step, body, expected_types):
    """Sends one request and waits for its decision; checks its events are `expected_types`, in order."""
    key = f"lifecycle-{run}-{step}"
    print(f"\n{step}: {json.dumps(body)}")
    sqs.send_message(QueueUrl=f"{QUEUES}/package-associator-requests", MessageBody=json.dumps({**body, "idempotencyKey": key}))

    def decided():
        drain_events()
        events = events_of(key)
        return events if any(e["detail-type"].endswith(DECISIONS) for e in events) else None

    events = wait_until(decided, f"the decision of {key}")
    for event in events:
        detail = event["detail"]
        shown = {name: detail[name] for name in ("status", "packageVersion", "targetVersion", "error", "errorDetails")
                 if name in detail}
        print(f"  {detail['occurredAt']} {event['detail-type']} {json.dumps(shown)}")
    expect([e["detail-type"] for e in events] == expected_types, f"events {', '.join(expected_types)}")
    return events


def parse_time(text):
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def check_reachable():
    try:
        sqs.get_queue_url(QueueName="package-associator-requests")
    except (botocore.exceptions.EndpointConnectionError, botocore.exceptions.ClientError) as error:
        print(f"No local stack at {args.endpoint} ({error}).\nStart one with:\n  {EXPECTED_COMMAND}", file=sys.stderr)
        sys.exit(2)


def dictionary_steps():
    print("\ncreate: a dictionary through CreatePackage")
    created = opensearch.create_package(PackageName=f"lifecycle-{run}", PackageType="TXT-DICTIONARY",
                                        PackageSource={"S3BucketName": BUCKET, "S3Key": f"synonyms/{run}-v1.txt"})
    package_id = created["PackageDetails"]["PackageID"]
    print(f"  {package_id} {created['PackageDetails']['PackageStatus']}")
    available_at(package_id, "v1")

    association = {"domainName": DOMAIN, "packageId": package_id}
    events = request("associate-v1", association, ["PackageAssociationStarted", "PackageAssociationSucceeded"])
    expect(events[-1]["detail"].get("packageVersion") == "v1", "Succeeded at v1")

    print("\nupdate: UpdatePackage with a new file")
    updated = opensearch.update_package(PackageID=package_id,
                                        PackageSource={"S3BucketName": BUCKET, "S3Key": f"synonyms/{run}-v2.txt"})
    print(f"  {package_id} {updated['PackageDetails']['PackageStatus']}")
    available_at(package_id, "v2")

    events = request("associate-v2", association, ["PackageAssociationStarted", "PackageAssociationSucceeded"])
    expect(events[-1]["detail"].get("packageVersion") == "v2", "Succeeded at v2")
    listed = on_domain(package_id) or {}
    expect((listed.get("DomainPackageStatus"), listed.get("PackageVersion")) == ("ACTIVE", "v2"),
           f"list_packages_for_domain shows {package_id} ACTIVE at v2")

    request("dissociate", {**association, "action": "dissociate"},
            ["PackageDissociationStarted", "PackageDissociationSucceeded"])
    expect(on_domain(package_id) is None, f"list_packages_for_domain no longer shows {package_id}")


def plugin_steps():
    print("\ncreate: a plugin through CreatePackage")
    delay_ms = admin_state()["pluginAssociationDelayMs"]
    if delay_ms <= FIRST_CHECK_MAX_SECONDS * 1000:
        # decideTracking reads ACTIVE before it looks at the deadline: a deployment over by the first check
        # succeeds under either deadline.
        print(f"  note: a {delay_ms / 1000:g} s deployment is over before the first status check (up to "
              f"{FIRST_CHECK_MAX_SECONDS} s), so this step cannot tell the plugin deadline from the dictionaries'; "
              "--plugin-association-delay-ms 30000 can")
    created = opensearch.create_package(PackageName=f"lifecycle-plugin-{run}", PackageType="ZIP-PLUGIN",
                                        EngineVersion="OpenSearch_2.17",
                                        PackageSource={"S3BucketName": BUCKET, "S3Key": f"plugins/{run}.zip"})
    package_id = created["PackageDetails"]["PackageID"]
    print(f"  {package_id} {created['PackageDetails']['PackageStatus']}")
    version = available_at(package_id)["AvailablePackageVersion"]

    events = request("associate-plugin", {"domainName": DOMAIN, "packageId": package_id},
                     ["PackageAssociationStarted", "PackageAssociationSucceeded"])
    expect(events[-1]["detail"].get("packageVersion") == version, f"Succeeded at {version}")
    started, succeeded = (parse_time(event["detail"]["occurredAt"]) for event in events)
    ran_for = succeeded - started
    expect(ran_for > args.deadline_seconds,
           f"the blue/green deployment ran {ran_for:.1f} s, past the dictionaries' deadline of {args.deadline_seconds:g} s")


check_reachable()
print(f"Against {args.endpoint}; expects a stack started with:\n  {EXPECTED_COMMAND}")
try:
    dictionary_steps()
    plugin_steps()
except Mismatch as mismatch:
    print(f"  FAIL {mismatch}")
    sys.exit(1)
print("\nall steps as expected")
