#!/usr/bin/env python3
"""A producer's mix against a running local stack (`npm start`), judged on the events queue and the DLQ alone.

Usage: npm start -- --port 4599 & python3 tools/check-producer-mix.py http://127.0.0.1:4599

Sends: a request and a concurrent copy of it; a conflicting reuse of its key; an invalid body; a domain off the
allow-list; free text with characters SQS refuses (escaped in the JSON) and others it accepts; a request whose
AssociatePackage answer is lost (injected through /_emulator/opensearch/faults); requests redelivered after the
associate function crashed (/_emulator/lambda/faults). Then checks the contract's guarantees: one decision per
request, one rejection and one dead letter per rejected message, each event the same under its eventId, no
conflict reported under the key it collides with, and one successful association per pair. Exit code 1 if not.
Needs boto3; not part of `npm test`.
"""
import json
import sys
import time
import urllib.request
import uuid

import boto3

ENDPOINT = sys.argv[1] if len(sys.argv) > 1 else "http://127.0.0.1:4566"
QUEUES = f"{ENDPOINT}/000000000000"
session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
sqs = session.client("sqs", endpoint_url=ENDPOINT)
run = uuid.uuid4().hex[:8]
failures = []


def admin(method, path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(f"{ENDPOINT}/_emulator/{path}", data=data, method=method)
    with urllib.request.urlopen(request) as answer:
        return json.loads(answer.read() or b"null")


def send(body):
    text = body if isinstance(body, str) else json.dumps(body)
    return sqs.send_message(QueueUrl=f"{QUEUES}/package-associator-requests", MessageBody=text)["MessageId"]


def drain(queue, seconds):
    """Every message of a queue until it stays empty for `seconds`, received and deleted."""
    messages, quiet_since = [], time.time()
    while time.time() - quiet_since < seconds:
        answer = sqs.receive_message(
            QueueUrl=f"{QUEUES}/{queue}", MaxNumberOfMessages=10, WaitTimeSeconds=1, MessageAttributeNames=["All"]
        )
        for message in answer.get("Messages", []):
            messages.append(message)
            sqs.delete_message(QueueUrl=f"{QUEUES}/{queue}", ReceiptHandle=message["ReceiptHandle"])
            quiet_since = time.time()
    return messages


def expect(condition, what):
    print(("ok   " if condition else "FAIL ") + what)
    if not condition:
        failures.append(what)


key = f"mix-{run}"
requested_by = "Zoë \ufffe\uffff \u2028 🚀"  # U+FFFE and U+FFFF travel escaped: SQS refuses them raw
valid = {"domainName": "catalog-search", "packageId": "F111111111", "idempotencyKey": key, "requestedBy": requested_by}
send(json.dumps(valid))
send(json.dumps(valid))  # a concurrent copy
conflict_id = send({"domainName": "catalog-search", "packageId": "F222222222", "idempotencyKey": key})
invalid_id = send('{"domainName":"orders-logs","packageId":"F222222222","colour":"blue"}')
outsider_id = send({"domainName": "hr-private", "packageId": "F111111111", "idempotencyKey": f"hr-{run}"})

admin("PUT", "opensearch/faults", {"faults": [
    {"operation": "AssociatePackage", "errorType": "LostAnswer", "rate": 1, "packageId": "G555555555"}]})
lost_key = f"lost-{run}"
send({"domainName": "orders-logs", "packageId": "G555555555", "idempotencyKey": lost_key})
time.sleep(3)
admin("DELETE", "opensearch/faults")

admin("PUT", "lambda/faults", {"associatePackage": {"crashRate": 1}})
crashed_key = f"crashed-{run}"
send({"domainName": "orders-metrics", "packageId": "F111111111", "idempotencyKey": crashed_key})
time.sleep(3)
admin("DELETE", "lambda/faults")

events = [json.loads(m["Body"]) for m in drain("package-association-events", 45)]
letters = drain("package-associator-requests-dlq", 2)

by_id = {}
for event in events:
    by_id.setdefault(event["detail"]["eventId"], []).append(json.dumps(event["detail"], sort_keys=True))
expect(all(len(set(texts)) == 1 for texts in by_id.values()), "every event published again is the same, by eventId")
distinct = {event["detail"]["eventId"]: event for event in events}.values()


def decisions(request_key):
    return [e["detail-type"] for e in distinct if e["detail"].get("idempotencyKey") == request_key
            and e["detail-type"] in ("PackageAssociationSucceeded", "PackageAssociationFailed")]


def rejections(message_id):
    return [e["detail"]["error"]["code"] for e in distinct if e["detail"].get("messageId") == message_id]


def dead_letters(message_id):
    return {m["MessageAttributes"]["DeadLetterId"]["StringValue"] for m in letters
            if m["MessageAttributes"]["SourceMessageId"]["StringValue"] == message_id}


expect(decisions(key) == ["PackageAssociationSucceeded"], "the request and its copy: one decision, Succeeded")
started = [e for e in distinct if e["detail"].get("idempotencyKey") == key and e["detail-type"].endswith("Started")]
expect(len(started) == 1, "one Started for the request and its copy")
expect(all(e["detail"].get("requestedBy") == requested_by for e in started), "requestedBy arrives unchanged")
expect(rejections(conflict_id) == ["IdempotencyKeyConflict"], "the conflicting reuse: one rejection")
expect(not any(e["detail"].get("idempotencyKey") == key and e["detail-type"] == "PackageRequestRejected"
               for e in distinct), "the conflict is not reported under the key it collides with")
expect(rejections(invalid_id) == ["InvalidRequest"], "the invalid body: one rejection")
expect(rejections(outsider_id) == ["DomainNotAllowed"], "the domain off the allow-list: one rejection")
for name, message_id in [("conflict", conflict_id), ("invalid", invalid_id), ("outsider", outsider_id)]:
    expect(len(dead_letters(message_id)) == 1, f"the {name}: one dead letter")
expect(decisions(lost_key) == ["PackageAssociationSucceeded"], "the lost answer: one decision, Succeeded")
lost_started = [e for e in distinct if e["detail"].get("idempotencyKey") == lost_key and e["detail-type"].endswith("Started")]
# ACTIVE by the time the retry reads the listing: Succeeded without a Started, as for any package already there.
expect(len(lost_started) <= 1, "the lost answer: Started at most once")
expect(decisions(crashed_key) == ["PackageAssociationSucceeded"], "redelivered after crashes: one decision")
calls = admin("GET", "opensearch/call-counts")["AssociatePackage"]
associations = admin("GET", "opensearch/state")["associations"]
pairs = {(a["DomainName"], a["PackageID"]) for a in associations}
expect(calls["succeeded"] <= len(pairs), f"successful AssociatePackage calls {calls['succeeded']} <= pairs {len(pairs)}")
print(f"{len(events)} events ({len(by_id)} distinct), {len(letters)} dead letters")
if failures:
    for event in distinct:
        detail = event["detail"]
        print(" ", event["detail-type"], detail.get("idempotencyKey") or detail.get("messageId"), detail.get("error"))
sys.exit(1 if failures else 0)
