"""The carrier's side of R3: pending users become activated, or failed with a
reason. Applied by hand by an administrator (``carrier activate``/``fail``,
R14) and by the simulator, which alone acts as the ``carrier`` operator.

Every transition is a conditional UPDATE on the status it expects, so when
several simulators run at once each transition happens exactly once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, cast

from sqlalchemy import CursorResult, select, update
from sqlmodel import Session, col

from onenet_tui.data import audit
from onenet_tui.data.context import CARRIER_NAME, Context
from onenet_tui.data.errors import InvalidInput, StaleData
from onenet_tui.data.lookup import user_by_ref
from onenet_tui.data.models import PhoneNumber, Status, Tenant, User, utcnow
from onenet_tui.data.policy import Action, enforce, enforce_role
from onenet_tui.data.unit import change
from onenet_tui.data.validation import char_count
from onenet_tui.i18n import t

DEFAULT_FLAG_REASON = "number flagged by the carrier"
# The reason is shown in the user's detail and copied into the support
# summary (R3): a sentence, not a document.
REASON_MAX = 200
AUDIT_ACTION_PREFIX = "carrier."


@dataclass(frozen=True)
class Transition:
    username: str
    status: str
    reason: str | None


def set_status(ctx: Context, ref: str, status: Status | str, reason: str | None = None) -> Transition:
    """Apply a carrier outcome to one user. By an administrator, the audit
    event names that person (shown as "carrier, applied by alice")."""
    enforce_role(ctx.actor.role, Action.SET_CARRIER_STATUS)
    status = Status(status)
    if status is Status.PENDING:
        raise InvalidInput.single("status", "carrier.status_choice")
    reason = checked_reason(reason) if status is Status.FAILED else None
    with change(ctx) as session:
        user = user_by_ref(session, ref, sites=ctx.actor.sites)
        enforce(Action.SET_CARRIER_STATUS, ctx.actor.role, user.status)
        if not _transition(
            session,
            ctx,
            user.id,  # type: ignore[arg-type]  # a stored row's id is set (SQLModel: optional)
            user.username,
            user.status,
            status,
            reason,
            site_id=user.site_id,
            old_reason=user.status_reason,
        ):
            raise StaleData(user.username)
        return Transition(user.username, status.value, reason)


def checked_reason(reason: str | None) -> str:
    """A failed activation's reason: required, trimmed, at most REASON_MAX characters."""
    text = (reason or "").strip()
    if not text:
        raise InvalidInput.single("reason", "carrier.reason_required")
    if char_count(text) > REASON_MAX:
        raise InvalidInput.single("reason", "carrier.reason_too_long", max=REASON_MAX, count=char_count(text))
    return text


def shown_operator(operator: str, action: str) -> str:
    """Who an audit event names, as people read it: an outcome applied by hand
    is the carrier's word passed on by a person, so both are named."""
    if action.startswith(AUDIT_ACTION_PREFIX) and operator != CARRIER_NAME:
        return t("carrier.applied_by", operator=operator)
    return operator


def _transition(
    session: Session,
    ctx: Context,
    user_id: int,
    username: str,
    old: str,
    new: Status,
    reason: str | None,
    *,
    site_id: int | None = None,
    old_reason: str | None = None,
) -> bool:
    result = session.execute(
        update(User)
        .where(col(User.id) == user_id, col(User.status) == old)
        .values(
            status=new.value,
            status_reason=reason if new is Status.FAILED else None,
            status_changed_at=utcnow(),
            version=User.version + 1,
        )
        .execution_options(synchronize_session=False)
    )
    # An UPDATE answers with a CursorResult; SQLModel's execute() promises only a Result.
    if cast("CursorResult[Any]", result).rowcount != 1:
        return False
    after_reason = reason if new is Status.FAILED else None
    audit.record(
        session,
        ctx.actor,
        f"{AUDIT_ACTION_PREFIX}{new.value}",
        username,
        user_id=user_id,
        site_id=site_id,
        previous=old,
        reason=reason,
        changed=audit.changes(
            {"status": old, "status_reason": old_reason}, {"status": new.value, "status_reason": after_reason}
        ),
    )
    return True


def waiting(ctx: Context, pending_since: datetime | None = None) -> bool:
    """Whether a pending user is left for a later :func:`run_once` pass (due
    or not yet): one statement outside a transaction."""
    enforce(Action.SIMULATE_CARRIER, ctx.actor.role)
    since = pending_since or datetime.min.replace(tzinfo=UTC)
    with ctx.store.quick_read() as session:
        found = session.execute(
            select(col(User.id))
            .where(col(User.status) == Status.PENDING.value, col(User.status_changed_at) > since)
            .limit(1)
        ).first()
    return found is not None


def run_once(
    ctx: Context,
    *,
    delay: timedelta | None = None,
    now: datetime | None = None,
    batch: int = 500,
    pending_since: datetime | None = None,
) -> list[Transition]:
    """One pass of the simulator: pending users older than ``delay`` are
    activated, those on flagged numbers fail with the flag's reason.
    ``pending_since`` leaves alone users who were pending before it.
    Only the carrier actor runs passes (R3): a person starts the simulator
    (:func:`simulator.start`), which then acts as the carrier."""
    enforce(Action.SIMULATE_CARRIER, ctx.actor.role)
    now = now or utcnow()
    done: list[Transition] = []
    with change(ctx) as session:
        if delay is None:
            tenant = session.execute(select(Tenant)).scalars().first()
            delay = timedelta(seconds=tenant.carrier_delay_seconds if tenant else 30)
        due = session.execute(
            select(
                col(User.id),
                col(User.username),
                col(PhoneNumber.flagged),
                col(PhoneNumber.flag_reason),
                col(User.site_id),
            )
            .join(PhoneNumber, col(PhoneNumber.id) == User.number_id)
            .where(
                col(User.status) == Status.PENDING.value,
                col(User.status_changed_at) <= now - delay,
                col(User.status_changed_at) > (pending_since or datetime.min.replace(tzinfo=UTC)),
            )
            .order_by(col(User.status_changed_at), col(User.id))  # one lock order for concurrent simulators
            .limit(batch)
        ).all()
        for user_id, username, flagged, flag_reason, site_id in due:
            new = Status.FAILED if flagged else Status.ACTIVATED
            reason = (flag_reason or DEFAULT_FLAG_REASON) if flagged else None
            if _transition(session, ctx, user_id, username, Status.PENDING.value, new, reason, site_id=site_id):
                done.append(Transition(username, new.value, reason))
    return done
