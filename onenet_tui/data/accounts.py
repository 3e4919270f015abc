"""Portal account reset (R12): unlock, clear failed logins, one-time code."""

from __future__ import annotations

from dataclasses import dataclass, field

from onenet_tui.data import audit, secrets
from onenet_tui.data.context import Context
from onenet_tui.data.errors import RuleRefused
from onenet_tui.data.lookup import user_by_ref
from onenet_tui.data.models import utcnow
from onenet_tui.data.policy import Action, enforce
from onenet_tui.data.unit import change


@dataclass(frozen=True)
class AccountResetResult:
    username: str
    # Shown once; only its salted digest is stored.
    activation_code: str = field(repr=False)


def reset_account(ctx: Context, ref: str, *, self_service_tried: bool) -> AccountResetResult:
    with change(ctx) as session:
        user = user_by_ref(session, ref, sites=ctx.actor.sites)
        enforce(Action.RESET_ACCOUNT, ctx.actor.role, user.status)
        if not self_service_tried:
            raise RuleRefused("R12", "r12.self_service_first")
        code = secrets.activation_code()
        was_locked, failed = user.portal_locked, user.failed_logins
        user.portal_locked = False
        user.failed_logins = 0
        user.last_account_reset_at = utcnow()
        user.activation_code_digest = secrets.digest_code(code)
        audit.record(
            session,
            ctx.actor,
            "account.reset",
            user.username,
            user_id=user.id,
            site_id=user.site_id,
            was_locked=was_locked,
            failed_logins=failed,
            changed=audit.changes(
                {"portal_locked": was_locked, "failed_logins": failed},
                {"portal_locked": False, "failed_logins": 0},
            ),
            # The new activation code is shown once; the event says only that it was replaced.
            replaced=["portal_activation"],
        )
        return AccountResetResult(user.username, code)
