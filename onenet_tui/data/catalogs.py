"""Catalogs of desk phone models, licence types and services.

They ship as JSON files in the package and are loaded into the database when it
is opened, so screens and scripts read them from one place and a tenant could
extend them without a code change.
"""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the labels are read at first paint, before the ORM is imported
    from sqlalchemy.orm import Session

SUPERVISOR_SERVICE = "supervisor"


@cache
def shipped(name: str) -> tuple[dict[str, str], ...]:
    text = resources.files("onenet_tui.data").joinpath(f"catalog/{name}.json").read_text("utf-8")
    return tuple(json.loads(text))


def desk_phone_codes() -> frozenset[str]:
    return frozenset(row["code"] for row in shipped("desk_phones"))


def licence_codes() -> frozenset[str]:
    return frozenset(row["code"] for row in shipped("licences"))


def service_codes() -> frozenset[str]:
    return frozenset(row["code"] for row in shipped("services"))


def label(name: str, code: str | None, lang: str) -> str:
    """Human label of a catalog entry in ``lang``; the code itself if unknown."""
    if code is None:
        return ""
    for row in shipped(name):
        if row["code"] == code:
            if name == "desk_phones":
                return f"{row['vendor']} {row['model']}"
            return row.get(f"name_{lang}") or row["name_en"]
    return code


def load_into(session: Session) -> None:
    """Upsert the shipped catalogs; existing rows keep their codes."""
    from onenet_tui.data.models import DeskPhoneModel, LicenceType, ServiceType

    for name, entity in (
        ("desk_phones", DeskPhoneModel),
        ("licences", LicenceType),
        ("services", ServiceType),
    ):
        for row in shipped(name):
            session.merge(entity(**row))
