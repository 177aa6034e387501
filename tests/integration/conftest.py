import pytest


@pytest.fixture(scope="module")
def runtime(default_model):
    """The whole stack on moto in this process (one per test module: start-up takes seconds)."""
    from lendguard.offline.local.runtime import LocalRuntime

    with LocalRuntime() as rt:
        yield rt
