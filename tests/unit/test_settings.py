"""The environment is modelled once: every setting is a property read when used."""

import pytest

from lendguard import deployment
from lendguard.settings import Settings, settings


def test_every_setting_is_a_property():
    members = {n: m for n, m in vars(Settings).items() if not n.startswith("_")}
    assert members and all(isinstance(m, property) for m in members.values()), [
        n for n, m in members.items() if not isinstance(m, property)
    ]


def test_a_missing_resource_name_is_named(monkeypatch):
    monkeypatch.delenv(deployment.ENV_CASES_TABLE, raising=False)
    with pytest.raises(RuntimeError, match=deployment.ENV_CASES_TABLE):
        _ = settings.cases_table
