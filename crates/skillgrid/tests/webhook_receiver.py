"""A webhook consumer for the delivery tests: verifies every delivery with the official
Standard Webhooks library and writes one JSON line per delivery.

    python webhook_receiver.py PORT DIR

DIR holds what the test changes while it runs, read at every request:
  secrets.json  {"/path": ["whsec_…", …]}: the secrets each endpoint path verifies with, each
                tried on its own (a line records which of them verified the delivery);
  mode          "ok" (answer 204, the default), "503", "410", "redirect" (302 to /elsewhere)
                or "huge" (200 and a body of 100 MB, sent until the client hangs up);
  delay_ms      how long to hold each delivery before answering (default 0).
Each delivery appends to DIR/deliveries.jsonl: path, webhook-id, the event's sequence, type
and agent, the indexes of the secrets that verified it, the answer given, and whether another
delivery to the same path was in flight when it arrived (overlap).
"""

import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook

PORT = int(sys.argv[1])
DIR = sys.argv[2]
LOCK = threading.Lock()
IN_FLIGHT = {}


def read(name, default):
    try:
        with open(os.path.join(DIR, name)) as f:
            return f.read().strip() or default
    except FileNotFoundError:
        return default


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length", "0")))
        path = self.path
        with LOCK:
            overlap = IN_FLIGHT.get(path, 0) > 0
            IN_FLIGHT[path] = IN_FLIGHT.get(path, 0) + 1
        held = True

        def answered():
            # A delivery is held from its arrival until its answer is decided: the sender
            # may send the next one as soon as the answer's first bytes reach it, which can
            # be before this thread runs again.
            nonlocal held
            if held:
                held = False
                with LOCK:
                    IN_FLIGHT[path] -= 1

        try:
            secrets = json.loads(read("secrets.json", "{}")).get(path, [])
            headers = {k.lower(): v for k, v in self.headers.items()}
            verified = []
            for i, s in enumerate(secrets):
                try:
                    Webhook(s).verify(body, headers)
                    verified.append(i)
                except Exception:
                    pass
            mode = read("mode", "ok")
            time.sleep(int(read("delay_ms", "0")) / 1000)
            try:
                event = json.loads(body)
            except Exception:
                event = {}
            if not verified:
                status = 400
            elif mode == "503":
                status = 503
            elif mode == "410":
                status = 410
            elif mode == "redirect":
                status = 302
            elif mode == "huge":
                status = 200
            else:
                status = 204
            data = event.get("data") or {}
            line = {
                "path": path,
                "id": headers.get("webhook-id"),
                "sequence": event.get("sequence"),
                "type": event.get("type"),
                "agent": data.get("agentId"),
                "verified": verified,
                "status": status,
                "overlap": overlap,
            }
            with LOCK:
                with open(os.path.join(DIR, "deliveries.jsonl"), "a") as f:
                    f.write(json.dumps(line) + "\n")
            answered()
            self.send_response(status)
            if status == 302:
                self.send_header("location", "/elsewhere")
            if status == 200:
                self.send_huge()
                return
            self.send_header("content-length", "0")
            self.end_headers()
        finally:
            answered()


    def send_huge(self):
        size = 100 * 1024 * 1024
        self.send_header("content-length", str(size))
        self.end_headers()
        chunk = b"x" * 65536
        try:
            for _ in range(size // len(chunk)):
                self.wfile.write(chunk)
        except OSError:
            pass  # the client read what it wanted and hung up


class Server(ThreadingHTTPServer):
    allow_reuse_address = True
    daemon_threads = True


if __name__ == "__main__":
    server = Server(("127.0.0.1", PORT), Handler)
    print("listening", flush=True)
    server.serve_forever()
