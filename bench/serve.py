"""Benchmark ``lendguard serve`` under concurrent clients (issue 11, "a server that holds load").

Starts the local stack in process with the HTTP server on a loopback port, then, in one run,
sends distinct valid applications from 4 concurrent clients and from 50, and prints for each
the decisions per second, errors and cases per application, and the ratio of the two
throughputs (target ≥ 0.8: fifty clients are served as fast as four, none is dropped).
Run: ``.venv/bin/python bench/serve.py [--applications N] [--clients-low N] [--clients-high N]``.
"""

from __future__ import annotations

import argparse
import os
import threading

for _key, _value in {
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "POWERTOOLS_SERVICE_NAME": "lendguard",
    "POWERTOOLS_METRICS_NAMESPACE": "LendGuard",
    "POWERTOOLS_LOG_LEVEL": "ERROR",
    "POWERTOOLS_TRACE_DISABLED": "true",
}.items():
    os.environ.setdefault(_key, _value)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--applications", type=int, default=200)
    parser.add_argument("--clients-low", type=int, default=4)
    parser.add_argument("--clients-high", type=int, default=50)
    args = parser.parse_args()

    from lendguard.offline.local.load import cases_per_application, fresh_applications, run_clients
    from lendguard.offline.local.runtime import LocalRuntime
    from lendguard.offline.local.server import LISTEN_BACKLOG, default_users, make_server

    token = default_users().token_of("arn:aws:iam::000000000000:role/loan-app-backend")
    with LocalRuntime():
        server = make_server(0)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        endpoint = f"http://127.0.0.1:{server.server_address[1]}"
        run_clients(endpoint, token, fresh_applications(10, "WARM"), 2)  # imports, first clients
        results = []
        for label, clients in (("low", args.clients_low), ("high", args.clients_high)):
            apps = fresh_applications(
                args.applications, f"B{label.upper()}", seed=17 if label == "low" else 23
            )
            result = run_clients(endpoint, token, apps, clients)
            per_app = cases_per_application([a["application_id"] for a in apps])
            results.append((result, per_app))
        server.shutdown()
        server.server_close()

    print(
        f"lendguard serve, listen backlog {LISTEN_BACKLOG}, {args.applications} distinct applications per run"
    )
    for result, per_app in results:
        print(f"  {result.clients:>3} clients: {result.per_second:6.1f} decisions/s, "
              f"{result.failed} failed {dict(result.statuses)} {dict(result.errors)}, "
              f"applications by number of cases {dict(per_app)}")  # fmt: skip
    low, high = results[0][0], results[1][0]
    ratio = high.per_second / low.per_second if low.per_second else 0.0
    print(f"throughput {high.clients} clients / {low.clients} clients: {ratio:.2f} (target >= 0.8)")


if __name__ == "__main__":
    main()
