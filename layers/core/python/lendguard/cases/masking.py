"""Masking personal data in anything shown to people: applications inside execution events.

An execution's history carries each state's input and output, and the decision state carries
the application in clear. Before a history leaves the API every application in it is replaced
by its masked form, the same one a case record holds (:func:`masked_applicant`).
"""

from __future__ import annotations

import json
from typing import Any

from lendguard.cases.record import masked_applicant
from lendguard.core.hashing import mask

# Event detail fields whose value is a JSON document (state input and output, task parameters).
_JSON_FIELDS = ("input", "output", "parameters", "result")


def masked_application(application: dict[str, Any]) -> dict[str, Any]:
    """An application with the applicant, device and kyc block masked and consents reduced to
    references."""
    device = application.get("device") if isinstance(application.get("device"), dict) else {}
    consents = application.get("consents") if isinstance(application.get("consents"), dict) else {}
    masked = {
        **{k: v for k, v in application.items() if k not in ("applicant", "device", "consents", "kyc")},
        "applicant": masked_applicant(application),
        "device": {
            "os": device.get("os"),
            "device_id": mask(str(device.get("device_id") or "")) or None,
            "ip": mask(str(device.get("ip") or ""), 4, 0) or None,
        },
        "consents": {
            p: f"{r.get('text_id')}@{r.get('text_version')}"
            for p, r in consents.items()
            if isinstance(r, dict)
        },
    }
    if isinstance(application.get("kyc"), dict):
        masked["kyc"] = masked_kyc(application["kyc"])
    return masked


def masked_kyc(kyc: dict[str, Any]) -> dict[str, Any]:
    """The kyc block as a reviewer may see it: the card's name and ID number masked like the
    applicant's, its validity and issuer kept, the liveness session token never shown."""
    card = kyc.get("id_card") if isinstance(kyc.get("id_card"), dict) else None
    liveness = kyc.get("liveness") if isinstance(kyc.get("liveness"), dict) else None
    out: dict[str, Any] = {}
    if card is not None:
        name = str(card.get("name") or "")
        out["id_card"] = {
            "name": (name[:1] + "*" * (len(name) - 1)) if name else None,
            "id_number": mask(str(card.get("id_number") or ""), 4, 2) or None,
            "valid_from": card.get("valid_from"),
            "valid_until": card.get("valid_until"),
            "issuing_authority": card.get("issuing_authority"),
        }
    if liveness is not None:
        out["liveness"] = {"vendor": liveness.get("vendor"), "session_token": "(not shown)"}
    return out


def mask_value(value: Any) -> Any:
    """``value`` with every ``application`` object in it masked (recursively)."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if key == "application" and isinstance(item, dict):
                out[key] = masked_application(item)
            else:
                out[key] = mask_value(item)
        return out
    if isinstance(value, list):
        return [mask_value(v) for v in value]
    return value


def mask_event(event: dict[str, Any]) -> dict[str, Any]:
    """An execution history event with the applications in its JSON payloads masked."""
    out: dict[str, Any] = {}
    for key, value in event.items():
        if isinstance(value, dict):
            details = dict(value)
            for field in _JSON_FIELDS:
                raw = details.get(field)
                if isinstance(raw, str):
                    try:
                        details[field] = json.dumps(mask_value(json.loads(raw)))
                    except ValueError:
                        details[field] = "(not shown)"
            out[key] = mask_value(details)
        else:
            out[key] = value
    return out
