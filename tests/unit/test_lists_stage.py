"""The lists decision stage: keys looked up, facts named ``lists.<kind>.<key type>``, trace contents."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime

from lendguard.core.application import parse_application
from lendguard.core.facts import LIST_FACTS
from lendguard.core.hashing import LOCAL_SECRET
from lendguard.decision.stages import lists
from lendguard.decision.stages.lists import list_facts, subject_keys
from lendguard.decision.stages.validate import open_case, subject_of
from lendguard.decision.state import Subject
from lendguard.lists.entries import ListHit
from lendguard.lists.keys import KeyType, hash_value
from lendguard.offline.synthetic import synthetic_applications

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RAW = next(synthetic_applications(1, seed=3))


class RecordingLookup:
    """Answers from a dict and records every call (the stage must make exactly one)."""

    def __init__(self, entries: dict[tuple[str, str], ListHit]):
        self.entries, self.calls = entries, []

    def find(self, keys, now):
        self.calls.append(list(keys))
        return [self.entries[k] for k in keys if k in self.entries]


def test_every_kind_and_key_type_has_facts():
    for kind in ("black", "grey", "white"):
        for key in ("any", "id_number", "phone", "device_id", "bank_card", "ip"):
            assert f"lists.{kind}.{key}" in LIST_FACTS
    facts = list_facts([ListHit(kind="GREY", key_type="PHONE", reason_code="DISPUTE")])
    assert facts["lists.grey.phone"] and facts["lists.grey.any"]
    assert not any(v for k, v in facts.items() if k not in ("lists.grey.phone", "lists.grey.any"))


def test_subject_hashes_go_through_list_normalisation():
    same = copy.deepcopy(RAW)
    same["applicant"]["phone"] = "+86 " + RAW["applicant"]["phone"]
    same["device"]["device_id"] = RAW["device"]["device_id"].upper()
    same["device"]["ip"] = "::ffff:" + RAW["device"]["ip"]
    a, b = (subject_of(parse_application(r), LOCAL_SECRET) for r in (RAW, same))
    assert a == b
    assert a.phone == hash_value(KeyType.PHONE, RAW["applicant"]["phone"], LOCAL_SECRET)
    assert a.ip == hash_value(KeyType.IP, RAW["device"]["ip"], LOCAL_SECRET)


def test_subject_keys_skip_identifiers_older_cases_lack():
    subject = Subject(id_number="a", phone="b", device_id="c")
    assert subject_keys(subject) == [("ID_NUMBER", "a"), ("PHONE", "b"), ("DEVICE_ID", "c")]
    assert subject_keys(subject.model_copy(update={"ip": "d"}))[-1] == ("IP", "d")
    assert subject_keys(subject.model_copy(update={"bank_card": "e"}))[-1] == ("BANK_CARD", "e")


def test_a_payout_card_is_looked_up_however_it_was_written(default_policy):
    with_card = copy.deepcopy(RAW)
    with_card["applicant"]["bank_card"] = "6222 0212 3456 7894"
    state = open_case(parse_application(with_card), default_policy, "C1", NOW, LOCAL_SECRET)
    assert state.subject.bank_card == hash_value(KeyType.BANK_CARD, "6222-0212-3456-7894", LOCAL_SECRET)
    stolen = ListHit(kind="BLACK", key_type="BANK_CARD", reason_code="STOLEN_CARD")
    state = lists.run(
        state, default_policy, RecordingLookup({("BANK_CARD", state.subject.bank_card): stolen}), NOW
    )
    assert state.facts["lists.black.bank_card"] is True and state.halted_at is not None
    assert "6222" not in json.dumps(state.trace.list_hits)


def test_stage_looks_up_all_keys_at_once_and_traces_no_value(default_policy):
    app = parse_application(RAW)
    state = open_case(app, default_policy, "C1", NOW, LOCAL_SECRET)
    ip_hit = ListHit(kind="GREY", key_type="IP", reason_code="PROXY", reason="open proxy", source="vendor")
    lookup = RecordingLookup({("IP", state.subject.ip): ip_hit})
    state = lists.run(state, default_policy, lookup, NOW)
    assert RAW["applicant"]["bank_card"]  # the synthetic applicant names a payout card
    assert len(lookup.calls) == 1 and [t for t, _ in lookup.calls[0]] == [
        "ID_NUMBER",
        "PHONE",
        "DEVICE_ID",
        "IP",
        "BANK_CARD",
    ]
    assert state.facts["lists.grey.ip"] is True and state.facts["lists.grey.any"] is True
    assert state.facts["lists.black.any"] is False
    assert state.trace.list_hits == [
        {"kind": "GREY", "key_type": "IP", "reason_code": "PROXY", "reason": "open proxy", "source": "vendor",
         "expires_at": None}
    ]  # fmt: skip
    grey = next(r for r in state.trace.rules if r.rule_id == "LST_GREY")
    assert grey.outcome == "hit" and grey.effect == "review" and not state.halted
    trace = state.trace.model_dump_json()
    for secret in (RAW["device"]["ip"], RAW["applicant"]["phone"], state.subject.ip):
        assert secret not in trace
    assert json.loads(trace)["list_hits"][0]["key_type"] == "IP"
