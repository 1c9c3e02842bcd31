"""What the checks against a running local stack share: the clients, and how a step is expected and waited for.

Imported by tools/check-lifecycle.py and tools/check-rollout.py (run from the repository root: Python puts the
script's own folder on the path).
"""
import time

import boto3

ACCOUNT = "000000000000"


class Mismatch(Exception):
    """What the stack did is not what the step expected."""


def clients(endpoint, *names):
    """boto3 clients for the local stack's endpoint, with its fake credentials."""
    session = boto3.session.Session(aws_access_key_id="test", aws_secret_access_key="test", region_name="us-east-1")
    return tuple(session.client(name, endpoint_url=endpoint) for name in names)


def expect(condition, what):
    if not condition:
        raise Mismatch(what)
    print(f"  ok   {what}")


def waiter(timeout_seconds):
    """`wait_until(read, what)`: the first value `read` returns that is not None, polled every 0.5 s."""

    def wait_until(read, what):
        deadline = time.time() + timeout_seconds
        while time.time() < deadline:
            value = read()
            if value is not None:
                return value
            time.sleep(0.5)
        raise Mismatch(f"timed out after {timeout_seconds:.0f} s waiting for {what}")

    return wait_until
