"""Desk phone credentials (R8-R11): issued once, stored as digests only."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import cached_property

from sqlalchemy import insert, select, update
from sqlmodel import Session, col

from onenet_tui.data import audit, bulk_insert, checks, handover, phones, secrets
from onenet_tui.data.context import Actor, Context
from onenet_tui.data.errors import InvalidInput, RuleRefused
from onenet_tui.data.lookup import refuse_outside, user_by_ref
from onenet_tui.data.models import CredentialMode, DeskPhoneCredential, PhoneNumber, Site, User, table_of, utcnow
from onenet_tui.data.policy import Action, decide, enforce
from onenet_tui.data.unit import change


@dataclass(frozen=True)
class IssuedCredentials:
    """Shown to the operator once (R8); never stored."""

    username: str
    name: str
    extension: str
    sip_username: str
    password: str = field(repr=False)
    sip_domain: str
    # Whose they are, and for a bulk reset where its export is recorded (data.handover).
    user_id: int | None = None
    receipt: handover.Receipt | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Skipped:
    """A chosen user a bulk reset leaves alone, with the rule and reason."""

    target: BulkTarget
    rule: str
    reason_key: str


@dataclass(frozen=True)
class BulkResult:
    issued: list[IssuedCredentials]
    skipped: list[Skipped]


def sip_username(e164: str) -> str:
    """The E.164 digits without ``+`` (SPEC section 2)."""
    return phones.digits(e164)


def _digests(sip_user: str, realm: str, password: str) -> dict[str, str]:
    return {
        "ha1_md5": secrets.ha1(sip_user, realm, password, "md5"),
        "ha1_sha256": secrets.ha1(sip_user, realm, password, "sha256"),
    }


def issue(
    session: Session,
    actor: Actor,
    user: User,
    site: Site,
    e164: str,
    *,
    mode: CredentialMode = CredentialMode.SYSTEM,
    password: str | None = None,
) -> IssuedCredentials:
    """Create or replace one user's credentials; the old password stops working."""
    assert user.id is not None
    sip_user = sip_username(e164)
    if mode is CredentialMode.SYSTEM:
        password = secrets.system_password()
    else:
        problems = checks.password_errors(password or "", sip_user, user.extension)
        if problems:
            raise InvalidInput(problems)
    assert password is not None
    row = session.get(DeskPhoneCredential, user.id)
    if row is None:
        row = DeskPhoneCredential(
            user_id=user.id,
            sip_username=sip_user,
            realm=site.sip_domain,
            ha1_md5="",
            ha1_sha256="",
            generated_by=actor.name,
        )
        session.add(row)
    row.sip_username = sip_user
    row.realm = site.sip_domain
    row.generated_at = utcnow()
    row.generated_by = actor.name
    row.mode = mode.value
    # Nobody has them yet (R8): in this transaction, as the digests are.
    row.handed_over = False
    row.reset_event = None
    for key, value in _digests(sip_user, site.sip_domain, password).items():
        setattr(row, key, value)
    return IssuedCredentials(
        user.username,
        f"{user.first_name} {user.last_name}",
        user.extension,
        sip_user,
        password,
        site.sip_domain,
        user.id,
    )


@dataclass(frozen=True)
class NewHolder:
    """A user about to get system-generated credentials in a batch."""

    user_id: int
    username: str
    name: str
    extension: str
    e164: str
    realm: str


def issue_many(session: Session, actor: Actor, holders: Iterable[NewHolder]) -> list[IssuedCredentials]:
    """System-generated credentials for users who have none yet (new users
    of an import), inserted in one statement; what :func:`issue` does for
    one. Shown once, as R8 says: the caller hands them on and forgets them."""
    now = utcnow()
    rows: list[dict[str, object]] = []
    issued: list[IssuedCredentials] = []
    for holder in holders:
        sip_user = sip_username(holder.e164)
        password = secrets.system_password()
        rows.append(
            {
                "user_id": holder.user_id,
                "sip_username": sip_user,
                "realm": holder.realm,
                "generated_at": now,
                "generated_by": actor.name,
                "mode": CredentialMode.SYSTEM.value,
                "handed_over": False,  # until the import's file is written (R8)
                "reset_event": None,
                **_digests(sip_user, holder.realm, password),
            }
        )
        issued.append(
            IssuedCredentials(
                holder.username, holder.name, holder.extension, sip_user, password, holder.realm, holder.user_id
            )
        )
    bulk_insert.insert_rows(session, table_of(DeskPhoneCredential), rows)
    return issued


def regenerate(ctx: Context, ref: str, *, expected_version: int | None = None) -> IssuedCredentials:
    """R9: new credentials for one user (phone swapped, must log in again)."""
    with change(ctx) as session:
        user = user_by_ref(session, ref, sites=ctx.actor.sites)
        enforce(Action.REGENERATE_CREDENTIALS, ctx.actor.role, user.status, user.device_type)
        site = session.get(Site, user.site_id)
        number = session.get(PhoneNumber, user.number_id)
        assert site is not None and number is not None
        held = session.get(DeskPhoneCredential, user.id)
        old_sip = held.sip_username if held is not None else None
        issued = issue(session, ctx.actor, user, site, number.e164)
        audit.record(
            session,
            ctx.actor,
            "credentials.regenerate",
            user.username,
            user_id=user.id,
            site_id=user.site_id,
            sip_username=issued.sip_username,
            changed=audit.changes({"sip_username": old_sip}, {"sip_username": issued.sip_username}),
            # R26: that they were replaced, never what they are.
            replaced=["desk_phone_credentials"],
        )
        return issued


def bulk_reset(
    ctx: Context,
    user_ids: Iterable[int],
    *,
    mode: CredentialMode = CredentialMode.SYSTEM,
    password: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    export: str | None = None,
) -> BulkResult:
    """R10: new passwords for many users in one transaction, all or nothing.

    Users without a desk phone (or whom policy refuses) are skipped and listed
    with the reason. With ``mode=admin`` the one password must pass R11 for
    every user; the first user it fails for names the problem.

    The audit event lists the users and ``export``, the file the caller will
    write; until a ``credentials.exported`` event names this one, the
    passwords count as never handed over (:mod:`onenet_tui.data.handover`).
    """
    enforce(Action.BULK_CREDENTIALS, ctx.actor.role)
    if mode is CredentialMode.ADMIN and not password:
        raise InvalidInput.single("password", "field.required")
    wanted = list(dict.fromkeys(user_ids))
    issued: list[IssuedCredentials] = []
    skipped: list[Skipped] = []
    receipt = handover.Receipt(ctx)
    with change(ctx) as session:
        refuse_outside(session, wanted, ctx.actor.sites)
        rows = _bulk_rows(session, wanted)
        now = utcnow()
        updates: list[dict[str, object]] = []
        inserts: list[dict[str, object]] = []
        for done, row in enumerate(rows, start=1):
            decision = decide(Action.BULK_CREDENTIALS, ctx.actor.role, row.status, row.device_type)
            if not decision.allowed:
                assert decision.rule and decision.reason_key
                skipped.append(Skipped(row, decision.rule, decision.reason_key))
                continue
            sip_user = sip_username(row.e164)
            if mode is CredentialMode.SYSTEM:
                secret = secrets.system_password()
            else:
                assert password is not None
                problems = checks.password_errors(password, sip_user, row.extension, user=row.username)
                if problems:
                    raise InvalidInput(problems)
                secret = password
            values: dict[str, object] = {
                "user_id": row.id,
                "sip_username": sip_user,
                "realm": row.realm,
                "generated_at": now,
                "generated_by": ctx.actor.name,
                "mode": mode.value,
                "handed_over": False,  # until exported or shown (R10); reset_event below
                **_digests(sip_user, row.realm, secret),
            }
            (updates if row.has_credentials else inserts).append(values)
            issued.append(
                IssuedCredentials(row.username, row.name, row.extension, sip_user, secret, row.realm, row.id, receipt)
            )
            if progress and done % 500 == 0:
                progress(done, len(rows))
        # The event first: every row it issued carries its id, which the
        # export's receipt hands over (data.handover), in this transaction.
        event = audit.record(
            session,
            ctx.actor,
            "credentials.bulk_reset",
            f"{len(issued)} users",
            mode=mode.value,
            usernames=[c.username for c in issued],
            user_ids=[c.user_id for c in issued],
            skipped=[s.target.username for s in skipped],
            export=export,
            about_users=[c.user_id for c in issued if c.user_id is not None],
            replaced=["desk_phone_credentials"],
        )
        session.flush()
        receipt.reset_event = event.id
        for values in (*updates, *inserts):
            values["reset_event"] = event.id
        if updates:
            session.execute(update(DeskPhoneCredential), updates)
        if inserts:
            session.execute(insert(DeskPhoneCredential), inserts)
    if progress:
        progress(len(rows), len(rows))
    return BulkResult(issued, skipped)


# Users per IN list when reading or locking bulk targets.
_CHUNK = 5000


@dataclass(frozen=True)
class BulkTarget:
    """A user as a bulk reset (and its preview) needs them."""

    id: int
    username: str
    name: str
    extension: str
    status: str
    device_type: str
    e164: str
    site: str
    realm: str
    has_credentials: bool

    @cached_property
    def sip_username(self) -> str:
        # Cached: the admin password is checked against every target on each key press.
        return sip_username(self.e164)


def bulk_targets(session: Session, user_ids: list[int]) -> dict[int, BulkTarget]:
    """The users among ``user_ids`` that exist, by id."""
    query = (
        select(
            col(User.id),
            col(User.username),
            col(User.first_name),
            col(User.last_name),
            col(User.extension),
            col(User.status),
            col(User.device_type),
            col(PhoneNumber.e164),
            col(Site.name),
            col(Site.sip_domain),
            col(DeskPhoneCredential.user_id).is_not(None).label("has_credentials"),
        )
        .join(PhoneNumber, col(PhoneNumber.id) == User.number_id)
        .join(Site, col(Site.id) == User.site_id)
        .outerjoin(DeskPhoneCredential, col(DeskPhoneCredential.user_id) == User.id)
    )
    found: dict[int, BulkTarget] = {}
    for chunk in _chunks(user_ids):
        for r in session.execute(query.where(col(User.id).in_(chunk))):
            found[r.id] = BulkTarget(
                r.id,
                r.username,
                f"{r.first_name} {r.last_name}",
                r.extension,
                r.status,
                r.device_type,
                r.e164,
                r.name,
                r.sip_domain,
                bool(r.has_credentials),
            )
    return found


def _chunks(user_ids: list[int]) -> Iterator[list[int]]:
    """Chunked IN lists keep every backend under its bound-parameter limit."""
    for start in range(0, len(user_ids), _CHUNK):
        yield user_ids[start : start + _CHUNK]


def _lock_targets(session: Session, user_ids: list[int]) -> None:
    """Lock the users' rows (PostgreSQL; SQLite's BEGIN IMMEDIATE already
    keeps every other writer out) so that nobody changes a number between
    reading the targets and writing their digests. In id order, as one
    sequence over the chunks, so two bulk resets cannot deadlock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    for chunk in _chunks(sorted(user_ids)):
        locking = select(col(User.id)).where(col(User.id).in_(chunk))
        session.execute(locking.order_by(col(User.id)).with_for_update())


def _bulk_rows(session: Session, user_ids: list[int]) -> list[BulkTarget]:
    # Locked before the targets are read: the read then sees every change
    # committed before the lock, and none can commit after it.
    _lock_targets(session, user_ids)
    found = bulk_targets(session, user_ids)
    missing = [uid for uid in user_ids if uid not in found]
    if missing:
        raise RuleRefused("R10", "r10.users_vanished", count=len(missing))
    return [found[uid] for uid in user_ids]
