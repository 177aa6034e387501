"""Work against a running ``lendguard serve`` from another process (``--moto-port``).

``lendguard serve`` keeps one stack alive (moto on a loopback port, its functions and state
machines running inside the serve process). A command attached to it sees what earlier commands
wrote there: ``lendguard book seed`` writes the book, ``lendguard batch run --moto-port`` runs
over it, and a second run of the same date finds the first one's applied actions.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from lendguard import deployment
from lendguard.offline.local.runtime import PREFIX, local_environment
from lendguard.policy.schema import Policy


class NotServed(Exception):
    """No ``lendguard serve`` stack answers on the port."""


@contextmanager
def attached(moto_port: int, policy: Policy) -> Iterator[None]:
    """Every AWS client of this process talks to the served stack's moto for the block.

    The environment is the one the served functions have (names of the tables, buckets, bus and
    state machines); it is restored when the block ends.
    """
    from botocore.exceptions import BotoCoreError, ClientError

    from lendguard.store.aws import client, reset_clients

    saved = dict(os.environ)
    os.environ.update(local_environment(policy.id, policy.version))
    os.environ[deployment.ENV_AWS_ENDPOINT] = f"http://127.0.0.1:{moto_port}"
    reset_clients()
    try:
        try:
            machines = {
                m["name"]: m["stateMachineArn"]
                for page in client("stepfunctions").get_paginator("list_state_machines").paginate()
                for m in page["stateMachines"]
            }
        except (BotoCoreError, ClientError) as exc:
            raise NotServed(f"nothing answers on moto port {moto_port}: {type(exc).__name__}") from None
        for spec in deployment.STATE_MACHINES:
            name = f"{PREFIX}-{spec.logical_id}"
            if name not in machines:
                raise NotServed(
                    f"moto on port {moto_port} has no state machine {name}: not a lendguard serve"
                )
            os.environ[spec.env_var] = machines[name]
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)
        reset_clients()
