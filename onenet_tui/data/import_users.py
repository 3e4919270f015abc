"""Users in by CSV (R23, SPEC section 12): check every row, then apply all of
them in one transaction (or only the valid ones).

Each row adds a user (a username the tenant does not have) or changes one
(a username it has, in any case); users are never deleted. A row is checked
with the rules of a single add (:func:`users.add_user`) or a single change
(:func:`users.change_configuration`, :func:`users.edit_profile`): the field
rules of the schemas and :mod:`validation`, R5 and R4 from the policy table,
and the uniqueness rules of :mod:`checks`, asked of :class:`_Tenant`, a
picture of the tenant in memory as the file's earlier rows leave it. So
10,000 rows are checked in a few reads instead of 100,000 queries, by the
same rules. Checks across the file come on top: the same username, number
or extension twice, a number or extension still held by someone the file
does not also move.

:func:`plan` is the dry run (a read, nothing written); :func:`apply` plans
again inside its write transaction, so what it writes was checked against the
tenant as it is then, and writes every accepted row: all or nothing, or with
``skip_invalid`` the valid rows. One audit event per added or changed user
plus one for the import. New desk phone credentials come back once, for the
caller to export (R8, R10).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from pydantic_core import PydanticCustomError
from sqlalchemy import delete, select
from sqlmodel import Session, col

from onenet_tui.data import audit, bulk_insert, checks, credentials, handover, phones, validation, versions
from onenet_tui.data.context import Context
from onenet_tui.data.credentials import IssuedCredentials
from onenet_tui.data.errors import DomainError, FieldError, InvalidInput
from onenet_tui.data.handover import HANDED_OVER
from onenet_tui.data.lookup import group_choice
from onenet_tui.data.memberships import membership_word
from onenet_tui.data.models import (
    DeskPhoneCredential,
    DeviceType,
    Group,
    GroupKind,
    GroupMember,
    PhoneNumber,
    Site,
    Status,
    User,
    table_of,
    utcnow,
)
from onenet_tui.data.policy import JOIN_ACTION, Action, decide, enforce_role
from onenet_tui.data.schemas import ConfigChange, NewUser, ProfileChange, validate
from onenet_tui.data.unit import change
from onenet_tui.data.user_csv import ImportFile, Row, parse_groups, parse_services
from onenet_tui.i18n import t

IMPORT_ACTION = "users.import"
# A rule number for a field whose message key does not carry one.
_FIELD_RULES = {
    "first_name": "R1",
    "last_name": "R1",
    "extension": "R2",
    "number": "R16",
    "mobile": "R17",
    "contract": "R17",
    "desk_phone_model": "R17",
    "email": "R18",
    "username": "R19",
}
# Fields of the schemas that a file names by another column.
_COLUMN_OF_FIELD = {"role": "groups", "group": "groups", "expected_version": "username"}
_RULE_IN_KEY = re.compile(r"^r(\d+)\.")
_CONFIG_COLUMNS = (
    "first_name",
    "last_name",
    "username",
    "number",
    "extension",
    "device_type",
    "desk_phone_model",
    "licence",
    "services",
    "mobile",
    "contract",
)
_PROGRESS_EVERY = 500
_CHUNK = 900


class Outcome(StrEnum):
    ADD = "add"
    CHANGE = "change"
    UNCHANGED = "unchanged"
    FAIL = "fail"


@dataclass(frozen=True)
class Failure:
    """Why a row fails: its line in the file, the column and the rule."""

    line: int
    column: str
    rule: str | None
    key: str
    params: dict[str, object] = field(default_factory=dict)

    def message(self) -> str:
        return t(self.key, lang=None, **self.params)

    def text(self) -> str:
        """``column: R16: message`` (the rule left out where there is none)."""
        message = self.message()
        # Some messages name their rule already ("... (R16)"): once is enough.
        rule = f"{self.rule}: " if self.rule and f"({self.rule})" not in message else ""
        return f"{self.column}: {rule}{message}"

    def to_json(self) -> dict[str, Any]:
        return {"line": self.line, "column": self.column, "rule": self.rule, "key": self.key, "message": self.message()}


@dataclass
class _Add:
    """A checked new user, ready to insert."""

    fields: dict[str, Any]
    site: Site
    e164: str
    groups: list[tuple[Group, str | None]]


@dataclass
class _Edit:
    """A checked change of an existing user, ready to write."""

    user_id: int
    version: int
    fields: dict[str, Any]
    e164: str
    site: Site
    new_credentials: bool
    drop_credentials: bool


@dataclass
class RowPlan:
    row: Row
    username: str
    outcome: Outcome
    failures: list[Failure] = field(default_factory=list)
    # column -> [old, new] for a changed user (what the preview shows)
    changes: dict[str, list[Any]] = field(default_factory=dict)
    add: _Add | None = None
    edit: _Edit | None = None

    @property
    def line(self) -> int:
        return self.row.line


@dataclass
class Plan:
    file: ImportFile
    rows: list[RowPlan]

    def counts(self) -> dict[str, int]:
        counts = {outcome.value: 0 for outcome in Outcome}
        for row in self.rows:
            counts[row.outcome.value] += 1
        return counts

    @property
    def failures(self) -> list[Failure]:
        return [failure for row in self.rows for failure in row.failures]

    @property
    def failed(self) -> list[RowPlan]:
        return [row for row in self.rows if row.outcome is Outcome.FAIL]

    @property
    def credentials_needed(self) -> int:
        """How many accepted rows will issue new desk phone credentials."""
        return sum(
            1
            for row in self.rows
            if (row.add is not None and row.add.fields["device_type"] == DeviceType.DESK_PHONE.value)
            or (row.edit is not None and row.edit.new_credentials)
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file.name,
            "counts": self.counts(),
            "failures": [f.to_json() for f in self.failures],
            "rows": [
                {"line": r.line, "username": r.username, "outcome": r.outcome.value, "changes": r.changes}
                for r in self.rows
            ],
        }


class ImportRefused(DomainError):
    """Rows fail and the import is all or nothing: nothing was written."""

    exit_code = 4

    def __init__(self, plan: Plan):
        super().__init__()
        self.plan = plan

    def message(self) -> str:
        return t("import.refused", count=len(self.plan.failed))


@dataclass(frozen=True)
class ImportResult:
    plan: Plan
    # New desk phone credentials, shown once: the caller exports them (R8, R10).
    issued: list[IssuedCredentials]


# --- the tenant in memory ------------------------------------------------------------


@dataclass(frozen=True)
class _Holder:
    """Who holds a number, extension or username; a user the file adds has
    a negative id (minus its line) until it is written."""

    id: int | None
    username: str


@dataclass
class _Current:
    """An existing user named by the file, as stored."""

    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    site_id: int
    number_id: int
    e164: str
    extension: str
    device_type: str
    desk_phone_model: str | None
    licence: str
    services: list[str]
    mobile: str | None
    contract: str | None
    status: str
    version: int
    groups: set[tuple[str, str | None]] = field(default_factory=set)


def _username_key(username: str) -> str:
    return validation.username_key(username).lower()


class _Tenant:
    """The tenant's sites, numbers, holders and groups, read once, and the
    users the file names; answers :class:`checks.Lookup` as the rows planned
    so far leave it."""

    def __init__(self, session: Session, file: ImportFile) -> None:
        self.sites = {site.name: site for site in session.execute(select(Site)).scalars()}
        self.sites_by_id = {site.id: site for site in self.sites.values()}
        # R22: a name is unique per site and kind; a row's groups are its site's.
        self.groups: dict[str, list[Group]] = {}
        for group in session.execute(select(Group).order_by(Group.kind)).scalars():
            self.groups.setdefault(group.name, []).append(group)
        numbers = table_of(PhoneNumber).c
        self._numbers: dict[str, tuple[int, int, bool, str | None]] = {
            e164: (nid, site_id, flagged, reason)
            for nid, e164, site_id, flagged, reason in session.execute(
                select(numbers.id, numbers.e164, numbers.site_id, numbers.flagged, numbers.flag_reason)
            )
        }
        self._number_rows: dict[str, PhoneNumber] = {}
        users = table_of(User).c
        self.base_numbers: dict[int, _Holder] = {}
        self.base_extensions: dict[tuple[int, str], _Holder] = {}
        self.base_usernames: dict[str, _Holder] = {}
        ids: dict[str, int] = {}
        for uid, username, number_id, site_id, extension in session.execute(
            select(users.id, users.username, users.number_id, users.site_id, users.extension)
        ):
            holder = _Holder(uid, username)
            self.base_numbers[number_id] = holder
            self.base_extensions[(site_id, extension)] = holder
            key = _username_key(username)
            self.base_usernames[key] = holder
            ids[key] = uid
        wanted = sorted(
            {ids[key] for row in file.rows if (key := _username_key(row.values.get("username", ""))) in ids}
        )
        self.current = self._load_current(session, wanted)
        self.reset()

    def reset(self) -> None:
        """Back to the tenant as stored, before any row."""
        self.numbers = dict(self.base_numbers)
        self.extensions = dict(self.base_extensions)
        self.usernames = dict(self.base_usernames)

    def _load_current(self, session: Session, wanted: list[int]) -> dict[str, _Current]:
        users, numbers = table_of(User).c, table_of(PhoneNumber).c
        found: dict[int, _Current] = {}
        names = [c for c in _Current.__dataclass_fields__ if c not in ("e164", "groups")]
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            query = (
                select(*(users[name] for name in names), numbers.e164)
                .join(table_of(PhoneNumber), numbers.id == users.number_id)
                .where(users.id.in_(chunk))
            )
            for row in session.execute(query):
                values = dict(zip(names, row[:-1], strict=True))
                values["services"] = list(values["services"] or [])
                found[row.id] = _Current(**values, e164=row.e164)
            members = (
                select(col(GroupMember.user_id), col(Group.name), col(GroupMember.role))
                .join(Group, col(Group.id) == GroupMember.group_id)
                .where(col(GroupMember.user_id).in_(chunk))
            )
            for user_id, name, role in session.execute(members):
                found[user_id].groups.add((name, role))
        return {_username_key(user.username): user for user in found.values()}

    # checks.Lookup
    def number_row(self, e164: str) -> PhoneNumber | None:
        row = self._number_rows.get(e164)
        if row is None:
            known = self._numbers.get(e164)
            if known is None:
                return None
            nid, site_id, flagged, reason = known
            # Built without validation (the values come from the database): five times faster.
            row = PhoneNumber.model_construct(id=nid, e164=e164, site_id=site_id, flagged=flagged, flag_reason=reason)
            self._number_rows[e164] = row
        return row

    def number_holder(self, number_id: int) -> _Holder | None:
        return self.numbers.get(number_id)

    def site(self, site_id: int) -> Site | None:
        return self.sites_by_id.get(site_id)

    def extension_holder(self, site_id: int, extension: str) -> _Holder | None:
        return self.extensions.get((site_id, extension))

    def username_holder(self, username: str) -> _Holder | None:
        return self.usernames.get(_username_key(username))


# --- planning ------------------------------------------------------------------------


def _rule_of(error: FieldError) -> str | None:
    match = _RULE_IN_KEY.match(error.key)
    return f"R{match[1]}" if match else _FIELD_RULES.get(error.field)


def _failure(line: int, error: FieldError) -> Failure:
    column = _COLUMN_OF_FIELD.get(error.field, error.field)
    return Failure(line, column, _rule_of(error), error.key, error.params)


class _Row:
    """One row's checks: collects every failure, as a submit does."""

    def __init__(self, row: Row) -> None:
        self.row = row
        self.failures: list[Failure] = []

    def value(self, column: str) -> str | None:
        """The cell, or None when the file has no such column."""
        return self.row.values.get(column)

    def fail(self, column: str, rule: str | None, key: str, **params: object) -> None:
        self.failures.append(Failure(self.row.line, column, rule, key, params))

    def field_errors(self, errors: Iterable[FieldError]) -> None:
        self.failures.extend(_failure(self.row.line, e) for e in errors)

    def collect(self, problem: FieldError | None) -> None:
        if problem is not None:
            self.field_errors([problem])

    def run(self, column: str, rule: Callable[..., Any], *args: Any) -> Any:
        try:
            return rule(*args)
        except PydanticCustomError as err:
            self.field_errors([FieldError(column, err.type, dict(err.context or {}))])
            return None


class _Planner:
    def __init__(self, ctx: Context, tenant: _Tenant, file: ImportFile, released: _Moves) -> None:
        self.ctx = ctx
        self.tenant = tenant
        self.file = file
        # Users whose number / extension the file moves: free for other rows.
        self.released = released
        self.claimed_numbers: dict[str, int] = {}
        self.claimed_extensions: dict[tuple[int, str], int] = {}
        self.seen_usernames: dict[str, int] = {}
        # Whose released number / extension another row took.
        self.taken = _Moves(set(), set())

    def plan(self) -> Plan:
        tenant = self.tenant
        tenant.reset()
        for user in tenant.current.values():
            if user.id in self.released.numbers:
                tenant.numbers.pop(user.number_id, None)
            if user.id in self.released.extensions:
                tenant.extensions.pop((user.site_id, user.extension), None)
        return Plan(self.file, [self._row(row) for row in self.file.rows])

    def _row(self, row: Row) -> RowPlan:
        checking = _Row(row)
        username = (row.values.get("username") or "").strip()
        if row.extra_cells:
            checking.fail("file", "R23", "import.extra_cells", count=row.extra_cells, columns=len(self.file.header))
        if not username:
            checking.fail("username", "R19", "field.required")
            return RowPlan(row, username, Outcome.FAIL, checking.failures)
        key = _username_key(username)
        first = self.seen_usernames.setdefault(key, row.line)
        if first != row.line:
            checking.fail("username", "R23", "import.same_username", username=username, line=first)
            return RowPlan(row, username, Outcome.FAIL, checking.failures)
        current = self.tenant.current.get(key)
        scope = self.ctx.actor.sites
        if current is not None and scope is not None and current.site_id not in scope:
            # R25: another site's user is not changed, and not told apart from no user.
            checking.fail("username", "R25", "site_admin.user_not_yours", user=username)
            return RowPlan(row, username, Outcome.FAIL, checking.failures)
        if current is None:
            return self._add(checking, username)
        return self._change(checking, current)

    # -- a new user: users.add_user's checks --

    def _add(self, checking: _Row, username: str) -> RowPlan:
        row = checking.row
        data = _new_user_data(checking)
        try:
            new = validate(NewUser, data)
        except InvalidInput as invalid:
            checking.field_errors(invalid.errors)
            return RowPlan(row, username, Outcome.FAIL, checking.failures)
        checking.field_errors(new.dependency_errors())
        site = self.tenant.sites.get(new.site)
        scope = self.ctx.actor.sites
        if scope is not None and (site is None or site.id not in scope):
            checking.fail("site", "R25", "site_admin.site_not_yours", site=new.site)
            return RowPlan(row, username, Outcome.FAIL, checking.failures)
        if site is None:
            checking.fail("site", None, "import.unknown_site", site=new.site)
            return RowPlan(row, username, Outcome.FAIL, checking.failures)
        assert site.id is not None
        number, problem = checks.number_claim(self.tenant, site, new.number)
        self._number_problem(checking, site, new.number, problem)
        extension = new.extension or (validation.default_extension(number.e164) if number else None)
        if extension:
            self._extension_problem(checking, site, extension, None)
        mobile = checking.run("mobile", validation.mobile_for_site, new.mobile, site.country) if new.mobile else None
        checking.collect(checks.username_clash(self.tenant, username))
        groups = self._groups(checking, site, new)
        if number is not None:
            flag = checks.number_flag(number, site.country)
            if flag is not None:
                # R21: the single add refuses unless the flag was shown and accepted.
                checking.fail("number", "R21", flag.key.replace("r21.flagged", "r21.refused"), **flag.params)
            self._claim_number(checking, number)
        if extension and not any(f.column == "extension" for f in checking.failures):
            self._claim_extension(checking, site.id, extension)
        if checking.failures:
            return RowPlan(row, username, Outcome.FAIL, checking.failures)
        assert number is not None and number.id is not None and extension is not None
        fields: dict[str, Any] = {
            "username": validation.username_key(username),
            "first_name": new.first_name,
            "last_name": new.last_name,
            "site_id": site.id,
            "number_id": number.id,
            "extension": extension,
            "device_type": new.device_type.value,
            "desk_phone_model": new.desk_phone_model,
            "licence": new.licence,
            "services": list(new.services),
            "mobile": mobile,
            "contract": new.contract,
            "email": new.email,
            "status": Status.PENDING.value,
        }
        holder = _Holder(-row.line, fields["username"])
        self.tenant.numbers[number.id] = holder
        self.tenant.extensions[(site.id, extension)] = holder
        self.tenant.usernames[_username_key(username)] = holder
        return RowPlan(row, fields["username"], Outcome.ADD, add=_Add(fields, site, number.e164, groups))

    def _groups(self, checking: _Row, site: Site, new: NewUser) -> list[tuple[Group, str | None]]:
        chosen: list[tuple[Group, str | None]] = []
        for choice in new.groups:
            named = self.tenant.groups.get(choice.group, [])
            scope = self.ctx.actor.sites
            if scope is not None:  # R25: other sites' groups are not named to a site admin
                named = [g for g in named if g.site_id in scope]
            at_site = [g for g in named if g.site_id == site.id]
            group = group_choice(choice.group, at_site, site.name, elsewhere=bool(named))
            if isinstance(group, FieldError):
                checking.field_errors([group])
                continue
            try:
                role = checks.member_role(group, choice.role)
            except InvalidInput as refused:
                checking.field_errors(refused.errors)
                continue
            # R4 against the new user's status: pending.
            decision = decide(JOIN_ACTION[GroupKind(group.kind)], self.ctx.actor.role, Status.PENDING)
            if not decision.allowed:
                assert decision.reason_key is not None
                checking.fail("groups", decision.rule, decision.reason_key)
                continue
            chosen.append((group, role))
        return chosen

    def _number_problem(self, checking: _Row, site: Site, text: str, problem: FieldError | None) -> None:
        """R16's answer, unless the number is taken by an earlier row of the
        file: then that row's line is the better answer (R23)."""
        if problem is None:
            return
        e164 = phones.to_e164(text, site.country) if problem.key == "r16.not_free" else None
        first = self.claimed_numbers.get(e164) if e164 else None
        if first is not None and first != checking.row.line:
            checking.fail("number", "R23", "import.same_number", number=e164, line=first)
        else:
            checking.collect(problem)

    def _extension_problem(self, checking: _Row, site: Site, extension: str, user_id: int | None) -> bool:
        """R2 for the extension, or R23 when an earlier row of the file took it."""
        assert site.id is not None
        problem = checks.extension_clash(self.tenant, site.id, extension, user_id)
        if problem is None:
            return False
        first = self.claimed_extensions.get((site.id, extension.strip()))
        if first is not None and first != checking.row.line:
            checking.fail("extension", "R23", "import.same_extension", extension=extension, line=first)
        else:
            checking.collect(problem)
        return True

    def _claim_number(self, checking: _Row, number: PhoneNumber) -> None:
        first = self.claimed_numbers.setdefault(number.e164, checking.row.line)
        if first != checking.row.line:
            checking.fail("number", "R23", "import.same_number", number=number.e164, line=first)
        assert number.id is not None
        holder = self.tenant.base_numbers.get(number.id)
        if holder is not None and holder.id is not None and holder.id in self.released.numbers:
            self.taken.numbers.add(holder.id)

    def _claim_extension(self, checking: _Row, site_id: int, extension: str) -> None:
        first = self.claimed_extensions.setdefault((site_id, extension), checking.row.line)
        if first != checking.row.line:
            checking.fail("extension", "R23", "import.same_extension", extension=extension, line=first)
        holder = self.tenant.base_extensions.get((site_id, extension))
        if holder is not None and holder.id is not None and holder.id in self.released.extensions:
            self.taken.extensions.add(holder.id)

    # -- an existing user: users.change_configuration's and edit_profile's checks --

    def _change(self, checking: _Row, cur: _Current) -> RowPlan:
        row = checking.row
        site = self.tenant.sites_by_id[cur.site_id]
        assert site.id is not None
        config: dict[str, Any] = {}
        clear: dict[str, bool] = {}
        for column in ("first_name", "last_name", "username"):
            text = checking.value(column)
            if text is not None and unicodedata.normalize("NFC", text.strip()) != getattr(cur, column):
                config[column] = text
        site_text = checking.value("site")
        if site_text is not None and site_text.strip() != site.name:
            checking.fail("site", None, "import.site_change", site=site.name)
        number_text = (checking.value("number") or "").strip()
        if number_text and number_text != cur.e164:
            config["number"] = number_text
        extension_text = (checking.value("extension") or "").strip()
        if extension_text and extension_text != cur.extension:
            config["extension"] = extension_text
        device_text = checking.value("device_type")
        device_type = device_text.strip() if device_text is not None else cur.device_type
        if device_type != cur.device_type:
            config["device_type"] = device_type
        model = cur.desk_phone_model
        model_text = checking.value("desk_phone_model")
        if model_text is not None:
            model = model_text.strip() or None
            if model != cur.desk_phone_model and model is not None:
                config["desk_phone_model"] = model
        licence_text = (checking.value("licence") or "").strip()
        if licence_text and licence_text != cur.licence:
            config["licence"] = licence_text
        services_text = checking.value("services")
        if services_text is not None and set(parse_services(services_text)) != set(cur.services):
            config["services"] = parse_services(services_text)
        for column in ("mobile", "contract"):
            text = checking.value(column)
            if text is None:
                continue
            text = text.strip()
            if not text and getattr(cur, column) is not None:
                clear[f"clear_{column}"] = True
            elif text and text != getattr(cur, column):
                config[column] = text
        groups_text = checking.value("groups")
        if groups_text is not None and set(parse_groups(groups_text)) != cur.groups:
            checking.fail("groups", "R22", "import.groups_change")
        email: str | None = None
        email_text = checking.value("email")
        if email_text is not None and email_text.strip() != cur.email:
            try:
                email = validate(ProfileChange, {"expected_version": cur.version, "email": email_text}).email
            except InvalidInput as invalid:
                checking.field_errors(invalid.errors)
            if email == cur.email:
                email = None

        if config or clear:
            decision = decide(Action.EDIT_CONFIGURATION, self.ctx.actor.role, cur.status)
            if not decision.allowed:
                assert decision.reason_key is not None
                column = next((c for c in _CONFIG_COLUMNS if c in config or f"clear_{c}" in clear), "username")
                checking.fail(column, decision.rule, decision.reason_key)
                return RowPlan(row, cur.username, Outcome.FAIL, checking.failures)
        try:
            wanted = validate(ConfigChange, {"expected_version": cur.version, **config, **clear})
        except InvalidInput as invalid:
            checking.field_errors(invalid.errors)
            return RowPlan(row, cur.username, Outcome.FAIL, checking.failures)
        return self._checked_change(checking, cur, site, wanted, model, email)

    def _checked_change(
        self, checking: _Row, cur: _Current, site: Site, wanted: ConfigChange, model: str | None, email: str | None
    ) -> RowPlan:
        row = checking.row
        assert site.id is not None
        e164, number_id = cur.e164, cur.number_id
        if wanted.number is not None:
            number, problem = checks.number_claim(self.tenant, site, wanted.number, cur.id)
            self._number_problem(checking, site, wanted.number, problem)
            if number is not None and number.id is not None:
                e164, number_id = number.e164, number.id
                if number_id != cur.number_id:
                    self._claim_number(checking, number)
        extension = wanted.extension
        if extension is None and number_id != cur.number_id and cur.extension == validation.default_extension(cur.e164):
            extension = validation.default_extension(e164)  # R2: follows the number
        if extension is not None and extension != cur.extension:
            if not self._extension_problem(checking, site, extension, cur.id):
                self._claim_extension(checking, site.id, extension)
        else:
            extension = cur.extension
        username = cur.username
        if wanted.username is not None and wanted.username != cur.username:
            checking.collect(checks.username_clash(self.tenant, wanted.username, cur.id))
            username = wanted.username
        device_type = wanted.device_type.value if wanted.device_type else cur.device_type
        if device_type == DeviceType.NONE.value:
            model = None
        mobile = None if wanted.clear_mobile else cur.mobile
        if wanted.mobile is not None:
            mobile = checking.run("mobile", validation.mobile_for_site, wanted.mobile, site.country)
        contract = None if wanted.clear_contract else (wanted.contract if wanted.contract is not None else cur.contract)
        checking.field_errors(validation.device_dependency_errors(device_type, model, mobile, contract))
        after: dict[str, Any] = {
            "first_name": wanted.first_name if wanted.first_name is not None else cur.first_name,
            "last_name": wanted.last_name if wanted.last_name is not None else cur.last_name,
            "username": username,
            "number": e164,
            "extension": extension,
            "device_type": device_type,
            "desk_phone_model": model,
            "licence": wanted.licence if wanted.licence is not None else cur.licence,
            "services": list(wanted.services) if wanted.services is not None else list(cur.services),
            "mobile": mobile,
            "contract": contract,
            "email": email if email is not None else cur.email,
        }
        if checking.failures:
            return RowPlan(row, cur.username, Outcome.FAIL, checking.failures)
        before = {name: getattr(cur, name) for name in after if name != "number"} | {"number": cur.e164}
        changes = {name: [before[name], after[name]] for name in after if before[name] != after[name]}
        if "services" in changes and set(before["services"]) == set(after["services"]):
            del changes["services"]
        if not changes:
            return RowPlan(row, cur.username, Outcome.UNCHANGED)
        holder = _Holder(cur.id, username)
        self.tenant.numbers[number_id] = holder
        self.tenant.extensions[(site.id, extension)] = holder
        fields = {name: after[name] for name in changes if name != "number"}
        if "number" in changes:
            fields["number_id"] = number_id
        desk_phone = device_type == DeviceType.DESK_PHONE.value
        gained = desk_phone and cur.device_type != device_type
        edit = _Edit(
            cur.id,
            cur.version,
            fields,
            e164,
            site,
            new_credentials=desk_phone and (gained or "number" in changes),
            drop_credentials=not desk_phone and cur.device_type == DeviceType.DESK_PHONE.value,
        )
        return RowPlan(row, cur.username, Outcome.CHANGE, changes=changes, edit=edit)


def _new_user_data(checking: _Row) -> dict[str, Any]:
    """The schema's input for a new user, as ``users add`` builds it."""
    value = checking.value
    data: dict[str, Any] = {
        "first_name": value("first_name") or "",
        "last_name": value("last_name") or "",
        "username": value("username"),
        "email": value("email") or "",
        "site": (value("site") or "").strip(),
        "number": value("number") or "",
        "device_type": (value("device_type") or "").strip(),
        "services": parse_services(value("services") or ""),
        "groups": tuple({"group": name, "role": role} for name, role in parse_groups(value("groups") or "")),
    }
    for column in ("extension", "desk_phone_model", "mobile", "contract", "licence"):
        text = (value(column) or "").strip()
        if text:
            data[column] = text
    return data


@dataclass(frozen=True)
class _Moves:
    """Users (by id) whose number, and whose extension, the file moves."""

    numbers: set[int]
    extensions: set[int]

    def without(self, other: _Moves) -> _Moves:
        return _Moves(self.numbers - other.numbers, self.extensions - other.extensions)

    def __bool__(self) -> bool:
        return bool(self.numbers or self.extensions)


def _moves(plan: Plan) -> _Moves:
    """Whose number and extension the accepted rows move."""
    edits = [row.edit for row in plan.rows if row.edit is not None]
    return _Moves(
        {e.user_id for e in edits if "number_id" in e.fields}, {e.user_id for e in edits if "extension" in e.fields}
    )


def _may_move(tenant: _Tenant, file: ImportFile) -> _Moves:
    """The existing users whose row names another number or extension than
    theirs (any that the file might move): a first guess, see _plan_in."""
    numbers: set[int] = set()
    extensions: set[int] = set()
    for row in file.rows:
        cur = tenant.current.get(_username_key(row.values.get("username", "")))
        if cur is None:
            continue
        number = (row.values.get("number") or "").strip()
        extension = (row.values.get("extension") or "").strip()
        if number and number != cur.e164:
            numbers.add(cur.id)
            extensions.add(cur.id)  # R2: the extension may follow the number
        if extension and extension != cur.extension:
            extensions.add(cur.id)
    return _Moves(numbers, extensions)


def _plan_in(ctx: Context, session: Session, file: ImportFile) -> Plan:
    """Plan the rows, taking the numbers and extensions the file may move
    away from their holders as free; if a row that was to move one failed (or
    kept it) while another row took it, plan again without that move: each
    round frees less, so this ends, mostly after one round."""
    tenant = _Tenant(session, file)
    released = _may_move(tenant, file)
    while True:
        planner = _Planner(ctx, tenant, file, released)
        result = planner.plan()
        moved = _moves(result)
        if not planner.taken.without(moved):
            return result
        released = _Moves(released.numbers & moved.numbers, released.extensions & moved.extensions)


def plan(ctx: Context, file: ImportFile) -> Plan:
    """The dry run: what an import of ``file`` would do now. Changes nothing."""
    enforce_role(ctx.actor.role, Action.ADD_USER, Action.EDIT_CONFIGURATION)
    with ctx.store.read() as session:
        return _plan_in(ctx, session, file)


# --- applying --------------------------------------------------------------------


def apply(
    ctx: Context,
    file: ImportFile,
    *,
    skip_invalid: bool = False,
    allow_credentials: bool = True,
    progress: Callable[[int, int], None] | None = None,
) -> ImportResult:
    """Import ``file`` in one transaction: every row, or with ``skip_invalid``
    every row that passes (the others are in the result's plan). Without it a
    single failing row refuses the whole file (:class:`ImportRefused`) and
    nothing is written. ``allow_credentials=False`` (the caller has nowhere to
    hand new desk phone passwords to) refuses a file that would issue some."""
    enforce_role(ctx.actor.role, Action.ADD_USER, Action.EDIT_CONFIGURATION)
    with change(ctx) as session:
        planned = _plan_in(ctx, session, file)
        if planned.failed and not skip_invalid:
            raise ImportRefused(planned)
        needed = planned.credentials_needed
        if needed and not allow_credentials:
            raise InvalidInput.single("export", "import.export_required", count=needed)
        writer = _Writer(ctx, session, planned, progress)
        issued = writer.write()
        counts = planned.counts()
        audit.record(
            session,
            ctx.actor,
            IMPORT_ACTION,
            file.name,
            file=file.name,
            rows=len(planned.rows),
            added=counts[Outcome.ADD.value],
            changed=counts[Outcome.CHANGE.value],
            unchanged=counts[Outcome.UNCHANGED.value],
            failed=counts[Outcome.FAIL.value],
            failed_lines=[row.line for row in planned.failed],
        )
        session.flush()
    return ImportResult(planned, issued)


class _Writer:
    def __init__(
        self, ctx: Context, session: Session, planned: Plan, progress: Callable[[int, int], None] | None
    ) -> None:
        self.ctx = ctx
        self.session = session
        self.plan = planned
        self.progress = progress
        self.total = sum(1 for row in planned.rows if row.add is not None or row.edit is not None)
        self.done = 0
        self.issued: list[tuple[int, IssuedCredentials]] = []
        # One audit event per added or changed user, written together (R15).
        self.events: list[tuple[str, str, dict[str, Any]]] = []

    def _step(self) -> None:
        self.done += 1
        if self.progress is not None and self.done % _PROGRESS_EVERY == 0:
            self.progress(self.done, self.total)

    def write(self) -> list[IssuedCredentials]:
        edits = [row for row in self.plan.rows if row.edit is not None]
        adds = [row for row in self.plan.rows if row.add is not None]
        # Changes first: they free the numbers and extensions that adds may take.
        self._changes(edits)
        self._adds(adds)
        audit.record_many(self.session, self.ctx.actor, self.events)
        if self.progress is not None:
            self.progress(self.total, self.total)
        return [item for _, item in sorted(self.issued, key=lambda pair: pair[0])]

    def _changes(self, rows: list[RowPlan]) -> None:
        if not rows:
            return
        ids = [row.edit.user_id for row in rows if row.edit is not None]
        loaded: dict[int, User] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            for user in self.session.execute(select(User).where(col(User.id).in_(chunk))).scalars():
                assert user.id is not None
                loaded[user.id] = user
        for batch in _move_order(rows, loaded):
            for row in batch:
                self._change(row, loaded[row.edit.user_id])  # type: ignore[union-attr]  # batches hold edits only
            self.session.flush()

    def _change(self, row: RowPlan, user: User) -> None:
        edit = row.edit
        assert edit is not None
        for name, value in edit.fields.items():
            setattr(user, name, value)
        if edit.drop_credentials:
            self.session.execute(delete(DeskPhoneCredential).where(col(DeskPhoneCredential.user_id) == user.id))
        self.events.append(
            (
                "user.change_configuration",
                user.username,
                {
                    "user_id": user.id,
                    "site_id": user.site_id,
                    "changed": row.changes,
                    "import_file": self.plan.file.name,
                    "line": row.line,
                    **({audit.REPLACED: ["desk_phone_credentials"]} if edit.new_credentials else {}),
                },
            )
        )
        if edit.new_credentials:
            self.session.flush()
            issued = credentials.issue(self.session, self.ctx.actor, user, edit.site, edit.e164)
            self.issued.append((row.line, issued))
        self._step()

    def _adds(self, rows: list[RowPlan]) -> None:
        """Every new user in one INSERT (ids back in the rows' order), then
        their credentials, memberships and audit events, each in one too."""
        if not rows:
            return
        now = utcnow()
        values = [{**_NEW_USER_DEFAULTS, "created_at": now, "status_changed_at": now, **row.add.fields} for row in rows]  # type: ignore[union-attr]  # adds only
        inserted = bulk_insert.insert_rows(self.session, table_of(User), values, key="username")
        holders: list[credentials.NewHolder] = []
        members: list[dict[str, Any]] = []
        touched: set[int] = set()
        for row, user_id in zip(rows, inserted, strict=True):
            add = row.add
            assert add is not None
            fields = add.fields
            for group, role in add.groups:
                assert group.id is not None
                members.append({"group_id": group.id, "user_id": user_id, "role": role})
                touched.add(group.id)
            if fields["device_type"] == DeviceType.DESK_PHONE.value:
                name = f"{fields['first_name']} {fields['last_name']}"
                holders.append(
                    credentials.NewHolder(
                        user_id, fields["username"], name, fields["extension"], add.e164, add.site.sip_domain
                    )
                )
            self.events.append(
                (
                    "user.add",
                    fields["username"],
                    {
                        "user_id": user_id,
                        "site_id": add.site.id,
                        "changed": audit.created(_shown_fields(fields, add.e164, add.site.name, add.groups)),
                        "number": add.e164,
                        "site": add.site.name,
                        "device_type": fields["device_type"],
                        "groups": [g.name for g, _ in add.groups],
                        "import_file": self.plan.file.name,
                        "line": row.line,
                    },
                )
            )
            self._step()
        if members:
            bulk_insert.insert_rows(self.session, table_of(GroupMember), members)
        issued = credentials.issue_many(self.session, self.ctx.actor, holders)
        lines = {row.add.fields["username"]: row.line for row in rows if row.add is not None}
        self.issued.extend((lines[item.username], item) for item in issued)
        for group_id in sorted(touched):
            # The groups' members changed: a save of them as they were is stale (R22).
            versions.bump_group(self.session, group_id)


def _shown_fields(
    fields: dict[str, Any], e164: str, site: str, groups: list[tuple[Group, str | None]]
) -> dict[str, Any]:
    """A new user's values as history shows them: the number and site by
    name, not by row id; the groups by name and role."""
    shown = {name: value for name, value in fields.items() if name not in ("number_id", "site_id")}
    shown.update(number=e164, site=site, groups=[membership_word(g.name, role) for g, role in groups])
    return shown


# What a new user starts with, as the User entity's defaults say.
_NEW_USER_DEFAULTS: dict[str, Any] = {
    "department": None,
    "job_title": None,
    "preferred_language": None,
    "forward_always": None,
    "forward_busy": None,
    "forward_no_answer": None,
    "do_not_disturb": False,
    "call_waiting": True,
    "status_reason": None,
    "portal_locked": False,
    "failed_logins": 0,
    "last_account_reset_at": None,
    "activation_code_digest": None,
    "version": 1,
}


def _move_order(rows: list[RowPlan], loaded: dict[int, User]) -> Iterator[list[RowPlan]]:
    """The changes in batches the database takes one after the other: a user
    who moves to a number or extension another changed user still holds
    waits for that one's batch (each value is unique at every statement)."""
    pending = list(rows)
    while pending:
        held: dict[tuple[Any, ...], int] = {}
        for row in pending:
            assert row.edit is not None
            user = loaded[row.edit.user_id]
            held[("number", user.number_id)] = user.id  # type: ignore[assignment]  # a stored row's id is set
            held[("extension", user.site_id, user.extension)] = user.id  # type: ignore[assignment]  # a stored row's id is set
        ready: list[RowPlan] = []
        waiting: list[RowPlan] = []
        for row in pending:
            edit = row.edit
            assert edit is not None
            user = loaded[edit.user_id]
            wants: list[tuple[Any, ...]] = []
            if "number_id" in edit.fields:
                wants.append(("number", edit.fields["number_id"]))
            if "extension" in edit.fields:
                wants.append(("extension", user.site_id, edit.fields["extension"]))
            blocked = any(held.get(key) not in (None, user.id) for key in wants)
            (waiting if blocked else ready).append(row)
        if not ready:
            # Two users swap a number or an extension: no order works.
            raise InvalidInput.single("number", "import.swap", lines=", ".join(str(r.line) for r in waiting))
        yield ready
        pending = waiting


def record_exported(ctx: Context, issued: Iterable[IssuedCredentials], path: str) -> None:
    """The import's new credentials are in a complete file: handed over
    (until then the directory marks those users, as after a bulk reset)."""
    with change(ctx) as session:
        issued = list(issued)
        events = ((HANDED_OVER, item.username, {"user_id": item.user_id, "file": path}) for item in issued)
        audit.record_many(session, ctx.actor, events)
        handover.handed_over(session, [item.user_id for item in issued if item.user_id is not None])


def error_rows(planned: Plan) -> tuple[list[str], list[list[object]]]:
    """The errors CSV: the failed rows as the file had them, then ``line``
    and ``error`` (every failure of the row: ``column: rule: message``)."""
    header = [*planned.file.header, "line", "error"]
    width = len(planned.file.header)
    rows: list[list[object]] = []
    for row in planned.failed:
        cells: list[object] = [*row.row.cells[:width], *([""] * (width - len(row.row.cells)))]
        rows.append([*cells, row.line, " | ".join(failure.text() for failure in row.failures)])
    return header, rows
