"""Input schemas (pydantic v2) for every change the services accept.

Field rules come from :mod:`validation`; a failure becomes :class:`InvalidInput`
with one :class:`FieldError` per field, each naming the field and a message key.
Rules that need the site (its country, its free numbers, its extensions) are
checked by the services, which know the site, and reported the same way.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, ValidationError

from onenet_tui.data import validation as v
from onenet_tui.data.context import operator_name
from onenet_tui.data.errors import FieldError, InvalidInput
from onenet_tui.data.models import CallCenterRole, DeviceType

Schema = TypeVar("Schema", bound=BaseModel)

Blankable = BeforeValidator(v.optional)
FirstName = Annotated[str, AfterValidator(v.first_name)]
LastName = Annotated[str, AfterValidator(v.last_name)]
Username = Annotated[str | None, Blankable, AfterValidator(lambda s: None if s is None else v.username(s))]
Email = Annotated[str, AfterValidator(v.email)]
Extension = Annotated[str | None, Blankable, AfterValidator(lambda s: None if s is None else v.extension(s))]
Contract = Annotated[str | None, Blankable, AfterValidator(lambda s: None if s is None else v.contract(s))]
OptionalText = Annotated[str | None, Blankable]
DeskPhone = Annotated[
    str | None, Blankable, AfterValidator(lambda s: None if s is None else v.catalog_code(s, "desk_phones"))
]
Licence = Annotated[str, AfterValidator(lambda s: v.catalog_code(s, "licences"))]
ServiceCodes = Annotated[
    tuple[str, ...], AfterValidator(lambda codes: tuple(dict.fromkeys(v.catalog_code(c, "services") for c in codes)))
]

_PYDANTIC_KEYS = {"missing": "field.required"}


def validate(schema: type[Schema], data: dict[str, Any]) -> Schema:
    """Build ``schema`` from ``data`` or raise InvalidInput naming each field."""
    try:
        return schema.model_validate(data)
    except ValidationError as exc:
        raise InvalidInput([_field_error(err) for err in exc.errors()]) from None


def _field_error(err: Any) -> FieldError:
    name = str(err["loc"][0]) if err["loc"] else "input"
    key = err["type"] if "." in err["type"] else _PYDANTIC_KEYS.get(err["type"], "field.invalid")
    return FieldError(name, key, dict(err.get("ctx") or {}))


class _Input(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class GroupChoice(_Input):
    group: str
    role: CallCenterRole | None = None


class NewUser(_Input):
    first_name: FirstName
    last_name: LastName
    username: Username = None
    email: Email
    site: str
    number: str
    extension: Extension = None
    device_type: DeviceType
    desk_phone_model: DeskPhone = None
    licence: Licence = "standard"
    services: ServiceCodes = ()
    mobile: OptionalText = None
    contract: Contract = None
    groups: tuple[GroupChoice, ...] = ()
    # R21: the operator saw the number's carrier flag and its reason and
    # still wants this number (the wizard asked; the command line was told).
    accept_flagged: bool = False

    def dependency_errors(self) -> list[FieldError]:
        return v.device_dependency_errors(self.device_type, self.desk_phone_model, self.mobile, self.contract)


class ConfigChange(_Input):
    """Configuration fields (R5); only the ones given change."""

    expected_version: int
    first_name: FirstName | None = None
    last_name: LastName | None = None
    username: Username = None
    number: str | None = None
    extension: Extension = None
    device_type: DeviceType | None = None
    desk_phone_model: DeskPhone = None
    licence: Licence | None = None
    services: ServiceCodes | None = None
    mobile: OptionalText = None
    contract: Contract = None
    # Explicitly clear mobile / contract (e.g. a desk phone user gives back the mobile).
    clear_mobile: bool = False
    clear_contract: bool = False


class ProfileChange(_Input):
    expected_version: int
    email: Email | None = None
    department: OptionalText = None
    job_title: OptionalText = None
    preferred_language: Annotated[str | None, Field(pattern="^(de|en)$")] = None
    # Blank means "leave as is"; these clear the optional texts (someone left a department).
    clear_department: bool = False
    clear_job_title: bool = False


class CallServicesChange(_Input):
    """Forwarding targets: empty string clears a target, None leaves it."""

    expected_version: int
    forward_always: str | None = None
    forward_busy: str | None = None
    forward_no_answer: str | None = None
    do_not_disturb: bool | None = None
    call_waiting: bool | None = None


class NewOperator(_Input):
    name: Annotated[str, AfterValidator(operator_name)]
    role: Annotated[str, Field(pattern="^(admin|site_admin|helpdesk)$")]
    # R25: a site administrator's sites by name (and only theirs).
    sites: tuple[str, ...] = ()
