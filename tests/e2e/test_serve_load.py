"""`lendguard serve` holds load: 200 distinct applications from 50 concurrent clients get 200
answers, no connection is reset, and each application has exactly one case (issue 11)."""

from __future__ import annotations

import threading

import pytest
from authn import token_of, write_users_file

from lendguard.offline.local.load import cases_per_application, fresh_applications, run_clients
from lendguard.offline.local.server import LISTEN_BACKLOG, LocalHttpServer, make_server


@pytest.fixture(scope="module")
def endpoint(runtime, tmp_path_factory):
    server = make_server(0, write_users_file(tmp_path_factory.mktemp("users") / "users.json"))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_the_server_queues_connections_instead_of_resetting_them():
    assert LocalHttpServer.request_queue_size == LISTEN_BACKLOG >= 128
    assert LocalHttpServer.daemon_threads


@pytest.mark.slow
def test_200_applications_from_50_clients_all_decided_once(endpoint):
    applications = fresh_applications(200, "LOAD")
    result = run_clients(endpoint, token_of("machine"), applications, clients=50)
    assert result.errors == {} and dict(result.statuses) == {200: 200}
    assert len(set(result.case_ids.values())) == 200
    assert cases_per_application([a["application_id"] for a in applications]) == {1: 200}


def test_a_repeat_under_concurrency_still_gives_one_case(endpoint):
    [application] = fresh_applications(1, "LOAD-REPEAT")
    result = run_clients(endpoint, token_of("machine"), [application] * 8, clients=8)
    # Idempotent on application_id: the same answer, or 409 while the first is in flight.
    assert result.errors == {} and set(result.statuses) <= {200, 409} and result.statuses[200] >= 1
    assert len(set(result.case_ids.values())) == 1
    assert cases_per_application([application["application_id"]]) == {1: 1}
