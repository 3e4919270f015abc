"""Database entities (SPEC section 2) as SQLModel tables.

Constraints that must hold under concurrent writers live in the schema, not
only in Python: a number belongs to at most one user (``users.number_id``
unique), an extension is unique per site, a SIP username is unique.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Index,
    Integer,
    LargeBinary,
    Table,
    UniqueConstraint,
    false,
    func,
    text,
)
from sqlmodel import Field, SQLModel

# Re-exported: the enumerations live without the ORM (see enums.py).
from onenet_tui.data.enums import CallCenterRole, CredentialMode, DeviceType, GroupKind, Role, Status

__all__ = ["CallCenterRole", "CredentialMode", "DeviceType", "GroupKind", "Role", "Status"]


def utcnow() -> datetime:
    return datetime.now(UTC)


def table_of(entity: type[SQLModel]) -> Table:
    """The Core table behind a table entity: its columns are typed for SQL
    expressions, where SQLModel types the entity's attributes as their values."""
    table = entity.__table__  # type: ignore[attr-defined]  # set by the mapping; SQLModel declares no type for it
    assert isinstance(table, Table)
    return table


def _ts(nullable: bool = False, **kw: Any) -> Any:
    return Field(sa_column=Column(DateTime(timezone=True), nullable=nullable), **kw)


class Tenant(SQLModel, table=True):
    __tablename__ = "tenant"
    id: int | None = Field(default=None, primary_key=True)
    name: str
    # A simulated tenant (the demo) lets the console run the carrier itself.
    simulated: bool = False
    carrier_delay_seconds: int = 30
    created_at: datetime = _ts(default_factory=utcnow)


class Site(SQLModel, table=True):
    __tablename__ = "sites"
    # R20: the SIP domain (the registrar's realm) is unique as well as the name.
    __table_args__ = (Index("uq_sites_sip_domain", "sip_domain", unique=True),)
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    country: str = Field(max_length=2)
    sip_domain: str


class PhoneNumber(SQLModel, table=True):
    __tablename__ = "phone_numbers"
    id: int | None = Field(default=None, primary_key=True)
    e164: str = Field(unique=True)
    site_id: int = Field(foreign_key="sites.id", index=True)
    # Set by the carrier, e.g. porting not finished: activation will fail.
    flagged: bool = False
    flag_reason: str | None = None


USERNAME_LOWER_INDEX = "uq_users_username_lower"
_USER_VERSION = Column("version", Integer, nullable=False, default=1)


class User(SQLModel, table=True):
    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("site_id", "extension", name="uq_users_site_extension"),
        Index("ix_users_status", "status"),
        # The directory sorts by name by default.
        Index("ix_users_name", "last_name", "first_name"),
    )
    id: int | None = Field(default=None, primary_key=True)
    # configuration
    first_name: str
    last_name: str
    username: str = Field(unique=True)
    site_id: int = Field(foreign_key="sites.id", index=True)
    number_id: int = Field(foreign_key="phone_numbers.id", unique=True)
    extension: str
    device_type: str = DeviceType.DESK_PHONE.value
    desk_phone_model: str | None = None
    licence: str
    services: list[str] = Field(default_factory=list, sa_column=Column(JSON, nullable=False))
    mobile: str | None = None
    contract: str | None = None
    # profile
    email: str
    department: str | None = None
    job_title: str | None = None
    preferred_language: str | None = None
    # call services
    forward_always: str | None = None
    forward_busy: str | None = None
    forward_no_answer: str | None = None
    do_not_disturb: bool = False
    call_waiting: bool = True
    # status (R3)
    status: str = Status.PENDING.value
    status_reason: str | None = None
    created_at: datetime = _ts(default_factory=utcnow)
    status_changed_at: datetime = _ts(default_factory=utcnow)
    # portal account (R12)
    portal_locked: bool = False
    failed_logins: int = 0
    last_account_reset_at: datetime | None = _ts(nullable=True, default=None)
    activation_code_digest: str | None = None
    # optimistic locking (SPEC section 7)
    version: int = Field(default=1, sa_column=_USER_VERSION)

    # SQLAlchemy bumps ``version`` on every UPDATE and adds ``WHERE version = :old``,
    # so a concurrent change is detected by the database, not only in Python.
    __mapper_args__ = {"version_id_col": _USER_VERSION}


# R19: a username is unique whatever its case, held by the database so two
# admins typing Anna.Schmidt and anna.schmidt at once cannot both win.
Index(USERNAME_LOWER_INDEX, func.lower(table_of(User).c.username), unique=True)


GROUP_NAME_CONSTRAINT = "uq_groups_site_kind_name"


class Group(SQLModel, table=True):
    __tablename__ = "groups"
    # R22: a name is unique per site and kind, held by the database so two
    # admins adding the same group at once cannot both win.
    __table_args__ = (UniqueConstraint("site_id", "kind", "name", name=GROUP_NAME_CONSTRAINT),)
    id: int | None = Field(default=None, primary_key=True)
    name: str
    site_id: int = Field(foreign_key="sites.id", index=True)
    kind: str
    # Optimistic locking of a group's memberships (R22): bumped, by the
    # services, with every rename and every change of its members.
    version: int = Field(default=1, sa_column=Column("version", Integer, nullable=False, server_default="1"))


class GroupMember(SQLModel, table=True):
    __tablename__ = "group_members"
    group_id: int = Field(foreign_key="groups.id", primary_key=True)
    user_id: int = Field(foreign_key="users.id", primary_key=True, index=True)
    # agent / supervisor for call centers, None for the other kinds
    role: str | None = None


UNHANDED_INDEX = "ix_desk_phone_credentials_unhanded"
# The index's condition as SQLAlchemy renders ``~handed_over`` on each
# backend (SQLite has no boolean type): a planner uses a partial index only
# for a query whose condition it recognises as the index's.
UNHANDED_WHERE_SQLITE = "handed_over = 0"
UNHANDED_WHERE_PG = "NOT handed_over"


class DeskPhoneCredential(SQLModel, table=True):
    """Digests only: the password itself is never stored (SPEC section 10)."""

    __tablename__ = "desk_phone_credentials"
    # Who holds credentials nobody received is asked on every directory load:
    # the index holds those rows alone, a handful among a million.
    __table_args__ = (
        Index(
            UNHANDED_INDEX,
            "user_id",
            "reset_event",
            sqlite_where=text(UNHANDED_WHERE_SQLITE),
            postgresql_where=text(UNHANDED_WHERE_PG),
        ),
    )
    user_id: int = Field(foreign_key="users.id", primary_key=True)
    sip_username: str = Field(unique=True)
    realm: str
    ha1_md5: str
    ha1_sha256: str
    generated_at: datetime = _ts(default_factory=utcnow)
    generated_by: str
    mode: str = CredentialMode.SYSTEM.value
    # What the registrar may see (SPEC section 13): the user's status while
    # they may register, else NULL. Kept by PostgreSQL triggers (migration
    # 0008_registrar), never written by the console; always NULL on SQLite.
    registrar_status: str | None = None
    # R8-R10 (data.handover): whether these credentials reached anybody (the
    # one-time screen left with Next, printed, or in a completed export file).
    # Written with the credentials themselves, so a new password counts as
    # never handed over from the commit that put it in force; a writer that
    # does not say gets False, the answer that makes someone regenerate
    # rather than one that hides lost passwords (migration 0009_handed_over).
    handed_over: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, default=False, server_default=false())
    )
    # The bulk reset (its audit event id) that issued these credentials, NULL
    # for any other issue: its export receipt hands over exactly its rows,
    # and a reset never exported is reported per reset (pending_exports).
    reset_event: int | None = None


class Operator(SQLModel, table=True):
    __tablename__ = "operators"
    id: int | None = Field(default=None, primary_key=True)
    name: str = Field(unique=True)
    role: str
    created_at: datetime = _ts(default_factory=utcnow)


class OperatorSite(SQLModel, table=True):
    """R25: the sites a site administrator administers (none for other roles)."""

    __tablename__ = "operator_sites"
    operator_id: int = Field(foreign_key="operators.id", primary_key=True)
    site_id: int = Field(foreign_key="sites.id", primary_key=True, index=True)


class AuditEvent(SQLModel, table=True):
    __tablename__ = "audit_events"
    # The audit log is read newest first, a page at a time by id (keyset):
    # each filter's index ends in the id, so that a filtered page is read in
    # index order without sorting a million events (R26).
    __table_args__ = (
        Index("ix_audit_events_at", "at"),
        Index("ix_audit_events_operator_id", "operator", "id"),
        Index("ix_audit_events_action_id", "action", "id"),
        Index("ix_audit_events_user_id_id", "user_id", "id"),
        Index("ix_audit_events_site_id_id", "site_id", "id"),
        Index("ix_audit_events_target", "target"),
    )
    id: int | None = Field(default=None, primary_key=True)
    at: datetime = _ts(default_factory=utcnow)
    operator: str
    action: str
    target: str
    # Whom the event is about and where (R26, R25): no foreign keys, since a
    # deleted user's or site's history outlives them.
    user_id: int | None = None
    site_id: int | None = None
    details: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))


class AuditEventUser(SQLModel, table=True):
    """The users an event of many is about (a bulk reset, a group's members
    saved, a group deleted), so that each one's history finds it by id (R26)
    while the change stays one event. Keyed user first: a history's lookup."""

    __tablename__ = "audit_event_users"
    user_id: int = Field(primary_key=True)
    event_id: int = Field(foreign_key="audit_events.id", primary_key=True)


class AuditEventSite(SQLModel, table=True):
    """The sites an event about several is of (a bulk reset over two
    sites), so that a site administrator of all of them sees it (R25); an
    event of one site keeps it in ``audit_events.site_id`` alone. Keyed
    event first (is each of its sites theirs?), and by site for "mine"."""

    __tablename__ = "audit_event_sites"
    __table_args__ = (Index("ix_audit_event_sites_site_id_event_id", "site_id", "event_id"),)
    event_id: int = Field(foreign_key="audit_events.id", primary_key=True)
    site_id: int = Field(primary_key=True)


class DeskPhoneModel(SQLModel, table=True):
    __tablename__ = "catalog_desk_phones"
    code: str = Field(primary_key=True)
    vendor: str
    model: str


class LicenceType(SQLModel, table=True):
    __tablename__ = "catalog_licences"
    code: str = Field(primary_key=True)
    name_en: str
    name_de: str


class ServiceType(SQLModel, table=True):
    __tablename__ = "catalog_services"
    code: str = Field(primary_key=True)
    name_en: str
    name_de: str


class DirectorySnapshot(SQLModel, table=True):
    """The directory's loaded columns for one operator scope, kept so the next
    console's load reads one row instead of a million (issue 20.2,
    data/directory/snapshot.py). A cache: never audited, dropped at will."""

    __tablename__ = "directory_snapshots"
    # "all" for every site, else the sorted site ids ("1,3"): R25, never shared across scopes.
    scope: str = Field(primary_key=True)
    # The newest audit event id when the columns were read: changes after it are caught up.
    stamp: int
    format: int
    # The tenant they were read from ("id@created_at"): a rebuilt tenant (demo --force) is another.
    tenant: str
    rows: int
    made_at: datetime = _ts(default_factory=utcnow)
    payload: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
