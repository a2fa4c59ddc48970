"""Benchmark: do normal requests still get answers while slow clients hold connections open?

Serves Mizan twice with gunicorn on loopback (SQLite in a temporary folder): the shipped
``deploy/gunicorn.conf.py`` (gthread workers) and the old ``gunicorn --workers 4`` (sync workers).
For each, opens ``--slow`` connections that send a request line and then one header byte a second,
never finishing, and times ``--gets`` sequential ``GET /healthz`` (each given ``--timeout``
seconds). Prints the answer times; "-" is no answer in time. Not part of the test suite.
Run: ``python bench/slow_clients.py [--slow 16] [--gets 5] [--timeout 10]``.
"""
from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from core.testing.slow_clients import Gunicorn, SlowClients, timed_gets  # noqa: E402

GUNICORN = Path(sys.executable).with_name("gunicorn")
SETUPS = {
    "deploy/gunicorn.conf.py (gthread)": ["-c", str(ROOT / "deploy" / "gunicorn.conf.py"), "--workers", "2"],
    "--workers 4 (sync, the old README)": ["--workers", "4", "core:create_app()"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slow", type=int, default=16, help="slow connections (default 16)")
    parser.add_argument("--gets", type=int, default=5, help="timed GETs (default 5)")
    parser.add_argument("--timeout", type=float, default=10.0, help="seconds each GET may take (default 10)")
    args = parser.parse_args()
    print(f"{args.slow} slow clients; {args.gets} x GET /healthz, {args.timeout:g} s each")
    for name, options in SETUPS.items():
        with tempfile.TemporaryDirectory() as folder:
            env = {"SECRET_KEY": secrets.token_hex(32), "DATABASE_URL": f"sqlite:///{folder}/mizan.sqlite"}
            with Gunicorn(GUNICORN, options, env=env, cwd=ROOT, log=Path(folder) / "gunicorn.log") as server:
                before = timed_gets(server.url + "/healthz", 1, args.timeout)
                with SlowClients(server.port, args.slow):
                    times = timed_gets(server.url + "/healthz", args.gets, args.timeout)
        answered = [t for t in times if t is not None]
        shown = " ".join("-" if t is None else f"{t:.3f}" for t in times)
        print(f"{name:<38} idle: {before[0] or 0:.3f} s | under slow clients: {len(answered)}/{len(times)} answered "
              f"[{shown}] s")


if __name__ == "__main__":
    main()
