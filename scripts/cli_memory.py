#!/usr/bin/env python3
"""Peak RSS of `skillgrid validate` and `skillgrid apply` on large generated CSV files.

Starts a release `skillgrid serve` on loopback over a fresh SQLite file, creates the agents and
skills through the API (one keep-alive connection, the organization's rate limit raised first),
writes CSV files of 100,000 and 1,000,000 rows into a temporary directory (never into the
repository), and runs each command under `/usr/bin/time -v`: `apply` of a clean file (checked,
then written), and of a file with mistakes (checked, nothing written; then with --no-atomic).
Prints a Markdown table.

    cargo build --release -p skillgrid
    python3 scripts/cli_memory.py [--bin target/release/skillgrid] [--agents 10000] [--skills 100]
"""

import argparse
import base64
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import tempfile
import time


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Api:
    def __init__(self, port, cid, secret):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=600)
        basic = base64.b64encode(f"{cid}:{secret}".encode()).decode()
        status, body = self.call(
            "POST", "/oauth/token", "grant_type=client_credentials",
            {"Authorization": f"Basic {basic}",
             "Content-Type": "application/x-www-form-urlencoded"})
        assert status == 200, body
        self.token = json.loads(body)["access_token"]

    def call(self, method, path, body=None, headers=None):
        self.conn.request(method, path, body=body, headers=headers or {})
        r = self.conn.getresponse()
        return r.status, r.read()

    def json(self, method, path, doc):
        status, body = self.call(method, "/api/v2" + path, json.dumps(doc),
                                 {"Authorization": f"Bearer {self.token}",
                                  "Content-Type": "application/json"})
        assert status in (200, 201), (status, body[:500])
        return json.loads(body)


def timed(cmd, env):
    """Runs cmd under /usr/bin/time -v: (exit code, peak RSS in MB, wall seconds, stdout)."""
    p = subprocess.run(["/usr/bin/time", "-v"] + cmd, env=env, capture_output=True, text=True)
    rss_kb = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", p.stderr).group(1))
    wall = re.search(r"Elapsed \(wall clock\) time \(h:mm:ss or m:ss\): (\S+)", p.stderr).group(1)
    secs = sum(float(x) * 60 ** i for i, x in enumerate(reversed(wall.split(":"))))
    return p.returncode, rss_kb / 1024, secs, p.stdout.strip()


def start_server(binary, database, work, wrap=(), boot=None, log="serve.log"):
    """Starts `skillgrid serve` on a free loopback port over `database`, its command prefixed
    by `wrap` (e.g. `/usr/bin/time -v`), stderr in `work/log`. Returns (process, port,
    bootstrap client id, its secret) once it accepts connections: those it prints on a new,
    empty database, or `boot` (id, secret) given for one it was started on before."""
    port = free_port()
    server_log = open(os.path.join(work, log), "w+")
    server = subprocess.Popen(
        list(wrap) + [binary, "serve", "--listen", f"127.0.0.1:{port}", "--database", database],
        stderr=server_log, stdout=subprocess.DEVNULL,
        env={**os.environ, "RUST_LOG": "warn"})
    cid, secret = boot or (None, None)
    for _ in range(0 if boot else 300):
        server_log.seek(0)
        text = server_log.read()
        m1 = re.search(r"client id:\s+(\S+)", text)
        m2 = re.search(r"client secret:\s+(\S+)", text)
        if m1 and m2:
            cid, secret = m1.group(1), m2.group(1)
            break
        time.sleep(0.1)
    assert cid, "no bootstrap client printed"
    for _ in range(100):
        try:
            socket.create_connection(("127.0.0.1", port)).close()
            break
        except OSError:
            time.sleep(0.1)
    return server, port, cid, secret


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default="target/release/skillgrid")
    ap.add_argument("--agents", type=int, default=10_000)
    ap.add_argument("--skills", type=int, default=100)
    args = ap.parse_args()
    binary = os.path.abspath(args.bin)
    work = tempfile.mkdtemp(prefix="skillgrid-cli-memory-")
    server, port, cid, secret = start_server(binary, f"sqlite://{work}/skillgrid.db", work)
    try:
        api = Api(port, cid, secret)
        api.json("PATCH", "/organizations/settings",
                 {"rateLimit": {"requestsPerMinute": 1_000_000, "burst": 100_000}})
        t0 = time.time()
        for s in range(args.skills):
            api.json("POST", "/admin/skills", {"name": f"Skill {s:03}"})
        for a in range(args.agents):
            api.json("POST", "/admin/users", {"email": f"agent{a:05}@example.com",
                                              "name": f"Agent {a}"})
        print(f"created {args.skills} skills and {args.agents} agents in "
              f"{time.time() - t0:.1f} s", file=sys.stderr)

        files = {}
        for rows in (100_000, 1_000_000):
            per_agent = rows // args.agents
            assert per_agent <= args.skills
            path = os.path.join(work, f"rows-{rows}.csv")
            with open(path, "w") as f:
                f.write("agent,skill,proficiency\n")
                for a in range(args.agents):
                    for s in range(per_agent):
                        f.write(f"agent{a:05}@example.com,Skill {s:03},{(a + s) % 101}\n")
            files[rows] = path
        # The same 1,000,000 rows ordered by skill: every agent's rows are scattered.
        path = os.path.join(work, "rows-1000000-by-skill.csv")
        with open(path, "w") as f:
            f.write("agent,skill,proficiency\n")
            for s in range(args.skills):
                for a in range(args.agents):
                    f.write(f"agent{a:05}@example.com,Skill {s:03},{(a + s) % 101}\n")
        files["1000000 by skill"] = path
        # The grouped 1,000,000 rows with mistakes: an unknown skill on every 1000th row (found
        # here), a proficiency out of range on every 997th (found by the server's dry run).
        path = os.path.join(work, "rows-1000000-with-mistakes.csv")
        per_agent = 1_000_000 // args.agents
        with open(path, "w") as f:
            f.write("agent,skill,proficiency\n")
            n = 0
            for a in range(args.agents):
                for s in range(per_agent):
                    n += 1
                    skill, level = f"Skill {s:03}", (a + s) % 101
                    if n % 1000 == 0:
                        skill = "No such skill"
                    elif n % 997 == 0:
                        level = 500
                    f.write(f"agent{a:05}@example.com,{skill},{level}\n")
        files["1000000 with mistakes"] = path

        env = {**os.environ, "SKILLGRID_SERVER": f"http://127.0.0.1:{port}",
               "SKILLGRID_CLIENT_ID": cid, "SKILLGRID_CLIENT_SECRET": secret,
               "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
        runs = [
            ("validate", 100_000, [binary, "validate", files[100_000]]),
            ("validate", 1_000_000, [binary, "validate", files[1_000_000]]),
            ("validate", "1000000 by skill", [binary, "validate", files["1000000 by skill"]]),
            ("apply", 100_000, [binary, "apply", files[100_000], "--json"]),
            ("apply", 1_000_000, [binary, "apply", files[1_000_000], "--json"]),
            ("apply", "1000000 by skill", [binary, "apply", files["1000000 by skill"], "--json"]),
            # Checked whole, nothing written.
            ("apply", "1000000 with mistakes",
             [binary, "apply", files["1000000 with mistakes"], "--json"]),
            ("apply --no-atomic", "1000000 with mistakes",
             [binary, "apply", files["1000000 with mistakes"], "--json", "--no-atomic"]),
        ]
        print("| command | rows | file size | exit | peak RSS | wall | summary |")
        print("|---|---|---|---|---|---|---|")
        for name, rows, cmd in runs:
            code, rss, secs, out = timed(cmd, env)
            size = os.path.getsize(files[rows]) / 1e6
            if name.startswith("apply"):
                v = json.loads(out)
                out = (f"added {v['added']}, updated {v['updated']}, unchanged {v['unchanged']}, "
                       f"failed {v['failed']}, skipped {v['skipped']}, {v['chunks']} chunks, "
                       f"{v['requests']} requests")
            print(f"| {name} | {rows} | {size:.1f} MB | {code} | {rss:.1f} MB | {secs:.1f} s | {out} |",
                  flush=True)
    finally:
        server.terminate()
        server.wait()
        print(f"work files in {work} (delete when done)", file=sys.stderr)


if __name__ == "__main__":
    main()
