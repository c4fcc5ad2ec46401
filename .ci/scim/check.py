"""Runs scim2-tester against a live skillgrid SCIM endpoint and fails on any failure.

Usage: check.py BASE_URL TOKEN  (BASE_URL ends in /scim/v2)

Every check scim2-tester runs for what /ServiceProviderConfig declares must end in SUCCESS,
COMPLIANT or ACCEPTABLE; a check it skips (a feature not declared, such as bulk) is listed.
A DEVIATION, ERROR or CRITICAL fails the run, with one exception: scim2-tester 0.5.2 expects
`add` of values to a multi-valued attribute that already holds some (the skills its previous
step added) to leave only the new ones, where RFC 7644 section 3.5.2.1 says "a new value is added to
the attribute". Such a result passes here when every value added is in the answer, and only
then; it is listed as "rfc".
"""

import sys

import httpx2
from scim2_client.engines.httpx2 import SyncSCIMClient
from scim2_tester import Status, check_server

PASS = {Status.SUCCESS, Status.COMPLIANT, Status.ACCEPTABLE}


def dump(v):
    return v.model_dump() if hasattr(v, "model_dump") else v


def appended(r) -> bool:
    """An `add` to a multi-valued attribute whose answer holds every value added."""
    if r.title != "check_add_attribute" or not isinstance(r.data, dict):
        return False
    added = r.data.get("expected", r.data.get("value"))
    now = r.data.get("modify_actual", r.data.get("actual"))
    if not isinstance(added, list) or not isinstance(now, list) or not added:
        return False
    now = [dump(v) for v in now]
    return all(dump(v) in now for v in added) and len(now) > len(added)


def main() -> int:
    base, token = sys.argv[1], sys.argv[2]
    http = httpx2.Client(
        base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=30
    )
    client = SyncSCIMClient(http)
    results = check_server(client)
    failed = 0
    for r in results:
        if r.status in PASS:
            mark = "ok  "
        elif r.status == Status.SKIPPED:
            mark = "skip"
        elif appended(r):
            mark = "rfc "
        else:
            mark = "FAIL"
        where = f" [{r.resource_type}]" if r.resource_type else ""
        print(f"{mark} {r.status.name:<10} {r.title}{where}: {r.reason or ''}")
        if mark == "FAIL":
            failed += 1
            if r.data is not None:
                print(f"     data: {r.data!r}"[:2000])
    print(f"scim2-tester: {len(results)} checks, {failed} failed")
    return 1 if failed or not results else 0


if __name__ == "__main__":
    sys.exit(main())
