"""``lendguard serve`` as a user starts it: its own process, free loopback ports, ready when the
console (no token needed) answers. One helper for every test that drives a served stack."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from lendguard.offline import project

LENDGUARD = [sys.executable, "-m", "lendguard.offline.cli.main"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def served_stack(log: Path, *options: str, timeout_s: float = 120, port: int | None = None) -> Iterator[str]:
    """``lendguard serve --port P --moto-port M OPTIONS...``; yields its URL, stops it after.

    ``port``: the API's port when the caller must name the URL before it starts (default: free)."""
    port, moto_port = port or free_port(), free_port()
    with log.open("w") as out:
        proc = subprocess.Popen(
            [*LENDGUARD, "serve", "--port", str(port), "--moto-port", str(moto_port), *options],
            stdout=out, stderr=subprocess.STDOUT, cwd=project.project_root(),
            env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"},
        )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            urllib.request.urlopen(url + "/console/", timeout=2).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"serve did not start: {log.read_text()}")
            time.sleep(0.3)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=20)


@contextmanager
def served_with_test_users(where: Path) -> Iterator[str]:
    """A served stack in ``where`` whose users are the test actors (``authn.write_users_file``)."""
    from authn import write_users_file

    users = write_users_file(where / "users.json")
    with served_stack(where / "serve.log", "--users", str(users)) as url:
        yield url
