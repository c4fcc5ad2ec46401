#!/usr/bin/env python3
"""Rows per second of `skillgrid export`, and the peak RSS of the server and of the CLI.

Starts a release `skillgrid serve` on loopback under `/usr/bin/time -v`, over a fresh SQLite
file or a fresh PostgreSQL database (`--postgres URL` of a server where databases may be
created; the database is dropped afterwards), creates the skills and agents through the API and
gives every agent every skill with bulk requests (1,000 agents a request), then runs
`skillgrid export` (its output to a file in a temporary directory, never the repository) under
`/usr/bin/time -v` `--runs` times, and `curl` on the export route alone, and prints a Markdown
table: rows, bytes, wall time and rows per second of each run, the CLI's peak RSS, and at the
end the server's.

    cargo build --release -p skillgrid
    python3 scripts/export_speed.py [--agents 10000] [--skills 100] [--postgres postgres://…]
"""

import argparse
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cli_memory import Api, start_server, timed  # noqa: E402


def psql(url, sql):
    subprocess.run(["psql", url, "-q", "-c", sql], check=True, capture_output=True)


def stop(server):
    """Ends the server started as `server` (under `/usr/bin/time`: its child, so that `time`
    reports) and waits for it."""
    children = subprocess.run(["pgrep", "-P", str(server.pid)], capture_output=True, text=True)
    for pid in children.stdout.split():
        os.kill(int(pid), signal.SIGTERM)
    if not children.stdout.split():
        server.send_signal(signal.SIGTERM)
    server.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/skillgrid")
    ap.add_argument("--agents", type=int, default=10_000)
    ap.add_argument("--skills", type=int, default=100)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--keep", action="store_true", help="keep the PostgreSQL database (to profile)")
    ap.add_argument("--postgres", help="a PostgreSQL server's URL, e.g. postgres://postgres@127.0.0.1:5432/postgres")
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="skillgrid-export-speed-")
    if args.postgres:
        name = "export_speed_" + uuid.uuid4().hex[:12]
        psql(args.postgres, f"CREATE DATABASE {name}")
        database = args.postgres.rsplit("/", 1)[0] + "/" + name
    else:
        database = f"sqlite://{work}/skillgrid.db"
    server, port, cid, secret = start_server(binary, database, work)
    try:
        api = Api(port, cid, secret)
        api.json("PATCH", "/organizations/settings",
                 {"rateLimit": {"requestsPerMinute": 1_000_000, "burst": 100_000}})
        t0 = time.time()
        skills = [api.json("POST", "/admin/skills", {"name": f"Skill {s:03}"})["id"]
                  for s in range(args.skills)]
        agents = [api.json("POST", "/admin/users", {"email": f"agent{a:05}@example.com",
                                                    "name": f"Agent {a}"})["id"]
                  for a in range(args.agents)]
        for start in range(0, len(agents), 1000):
            items = [{"agentId": a, "skills": [{"skillId": s, "proficiency": (i + k) % 101}
                                               for k, s in enumerate(skills)]}
                     for i, a in enumerate(agents[start:start + 1000], start)]
            api.json("POST", "/agents/skills/bulk", {"mode": "replace", "items": items})
        rows = len(agents) * len(skills)
        print(f"loaded {rows} assignments in {time.time() - t0:.1f} s", file=sys.stderr)
        # Again, for the export alone: the peak RSS then is the export's, not the load's.
        stop(server)
        server, port, _, _ = start_server(binary, database, work, ["/usr/bin/time", "-v"],
                                          (cid, secret), "serve-export.log")
        api = Api(port, cid, secret)

        env = {**os.environ, "SKILLGRID_SERVER": f"http://127.0.0.1:{port}",
               "SKILLGRID_CLIENT_ID": cid, "SKILLGRID_CLIENT_SECRET": secret,
               "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        out = os.path.join(work, "export.csv")
        print(f"| backend | command | rows | bytes | wall | rows/s | peak RSS |")
        print("|---|---|---|---|---|---|---|")
        backend = "PostgreSQL" if args.postgres else "SQLite"
        for _ in range(args.runs):
            code, rss, secs, _ = timed(["sh", "-c", f'"{binary}" export > "{out}"'], env)
            assert code == 0, code
            lines = sum(1 for _ in open(out, "rb")) - 1
            assert lines == rows, (lines, rows)
            print(f"| {backend} | skillgrid export | {lines} | {os.path.getsize(out)} | "
                  f"{secs:.2f} s | {lines / secs:,.0f} | {rss:.1f} MB |", flush=True)
        url = f"http://127.0.0.1:{port}/api/v2/agents/skills/export"
        for _ in range(args.runs):
            t = time.time()
            p = subprocess.run(["curl", "-sf", "-o", out, "-H", f"Authorization: Bearer {api.token}",
                                "--noproxy", "127.0.0.1", url], check=True)
            secs = time.time() - t
            print(f"| {backend} | curl (server alone) | {rows} | {os.path.getsize(out)} | "
                  f"{secs:.2f} s | {rows / secs:,.0f} | |", flush=True)
    finally:
        stop(server)
        log = open(os.path.join(work, "serve-export.log")).read()
        m = re.search(r"Maximum resident set size \(kbytes\): (\d+)", log)
        if m:
            print(f"\nserver peak RSS while exporting (restarted after the load): "
                  f"{int(m.group(1)) / 1024:.1f} MB")
        if args.postgres and args.keep:
            print(f"kept {database} (client {cid} {secret})", file=sys.stderr)
        elif args.postgres:
            psql(args.postgres, f"DROP DATABASE IF EXISTS {database.rsplit('/', 1)[1]}")
        print(f"work files in {work} (delete when done)", file=sys.stderr)


if __name__ == "__main__":
    main()
