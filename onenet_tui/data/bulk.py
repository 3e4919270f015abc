"""Bulk desk phone credentials (R10) around the service: what the console and
the command line's ``credentials reset`` share.

- :func:`preview` says, before anything changes, who will get a new password
  and who is skipped and why (the policy table decides; the service decides
  again for real inside its transaction).
- :func:`admin_password_problem` checks one admin-chosen password against
  R11 for every chosen user at once, fast enough to run on each key press.
- :func:`reset_and_export` is the command line's flow: claim the export file,
  reset in one transaction, write the file (atomic, 0600), record the export.
- :func:`export_credentials` writes issued credentials to a CSV file; the
  console calls it from the result screen.

Both record ``credentials.exported`` once the file is complete: until then the
reset's passwords count as never handed over (:mod:`onenet_tui.data.handover`).

No Textual here (the domain layer stays free of the UI).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from onenet_tui.data import checks, credentials, exports, handover, lookup, secrets
from onenet_tui.data.context import Context
from onenet_tui.data.credentials import BulkResult, BulkTarget, IssuedCredentials, Skipped
from onenet_tui.data.errors import FieldError
from onenet_tui.data.models import CredentialMode
from onenet_tui.data.policy import Action, decide

EXPORT_NAME = "desk-phone-credentials-{:%Y%m%d-%H%M}.csv"


@dataclass(frozen=True)
class Preview:
    """Who gets a new password, who is skipped (with the rule and reason), and
    how many of the chosen ids no longer exist."""

    issue: list[BulkTarget]
    skipped: list[Skipped]
    missing: int

    @property
    def ids(self) -> list[int]:
        """The ids to hand to the service: every chosen user that still exists,
        skipped ones included (the service lists them as skipped too)."""
        return [t.id for t in self.issue] + [s.target.id for s in self.skipped]


def preview(ctx: Context, user_ids: Sequence[int]) -> Preview:
    """What :func:`credentials.bulk_reset` would do for ``user_ids`` now."""
    wanted = list(dict.fromkeys(user_ids))
    with ctx.store.read() as session:
        # R25: the same refusal the reset itself would give, before any preview.
        lookup.refuse_outside(session, wanted, ctx.actor.sites)
        found = credentials.bulk_targets(session, wanted)
    issue: list[BulkTarget] = []
    skipped: list[Skipped] = []
    for uid in wanted:
        target = found.get(uid)
        if target is None:
            continue
        decision = decide(Action.BULK_CREDENTIALS, ctx.actor.role, target.status, target.device_type)
        if decision.allowed:
            issue.append(target)
        else:
            assert decision.rule and decision.reason_key
            skipped.append(Skipped(target, decision.rule, decision.reason_key))
    return Preview(issue, skipped, len(wanted) - len(found))


@dataclass(frozen=True)
class PasswordProblem:
    """Why an admin-chosen password is refused (R11); ``user`` is the first
    user it fails for when the problem is theirs (it holds their SIP username
    or extension), None when it fails for everybody."""

    errors: list[FieldError]
    user: BulkTarget | None = None


def admin_password_problem(password: str, targets: Iterable[BulkTarget]) -> PasswordProblem | None:
    """R11 for one password shared by ``targets``; None when it is acceptable
    for all of them. The rules that do not depend on the user are checked
    once; then only the two substring tests run per user, so 10,000 users
    take about a millisecond."""
    general = secrets.admin_password_errors(password)
    if general:
        return PasswordProblem(general)
    lowered = password.lower()
    for target in targets:
        if target.sip_username.lower() in lowered or (target.extension and target.extension in password):
            return PasswordProblem(checks.password_errors(password, target.sip_username, target.extension), target)
    return None


def default_export_name(now: datetime | None = None) -> str:
    """``desk-phone-credentials-YYYYMMDD-HHMM.csv`` (local time: the name an
    administrator expects to find in their folder)."""
    return EXPORT_NAME.format(now or datetime.now())


def export_credentials(path: Path | str, issued: Iterable[IssuedCredentials], *, overwrite: bool = False) -> Path:
    """Write issued credentials as CSV: atomic, 0600, UTF-8, header row, every
    cell neutralised for spreadsheets (see :mod:`onenet_tui.data.exports`).
    Raises Conflict when the file exists and ``overwrite`` is False;
    InvalidInput or OSError when it cannot be written (nothing is left behind).

    The finished file is recorded as the hand-over of the bulk reset that
    issued the credentials (their :class:`~onenet_tui.data.handover.Receipt`)."""
    issued = list(issued)
    target = exports.SecretCsv(path, overwrite=overwrite).prepare()
    return _write(target, issued)


def _write(target: exports.SecretCsv, issued: list[IssuedCredentials]) -> Path:
    written = target.commit(exports.CREDENTIAL_COLUMNS, exports.credential_rows(issued))
    counts: dict[int, tuple[handover.Receipt, int]] = {}
    for item in issued:
        if item.receipt is not None:
            receipt, count = counts.get(id(item.receipt), (item.receipt, 0))
            counts[id(receipt)] = (receipt, count + 1)
    for receipt, count in counts.values():
        receipt.exported(str(written), count)
    return written


@dataclass
class ExportedReset:
    """The outcome of :func:`reset_and_export`. ``path`` is None when nobody
    got new credentials (no file is written then). ``write_error`` is set when
    the new passwords are in force but the file could not be written."""

    result: BulkResult
    path: Path | None
    write_error: Exception | None = None


def reset_and_export(
    ctx: Context,
    user_ids: Sequence[int],
    export: Path | str,
    *,
    overwrite: bool = False,
    mode: CredentialMode = CredentialMode.SYSTEM,
    password: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> ExportedReset:
    """New passwords for ``user_ids`` in one transaction, written to ``export``.

    The file is claimed first: if it exists (and ``overwrite`` is False), is
    a directory or cannot be created, nothing is reset and the error is
    raised. Domain errors from the reset (R10, R11, R14 ...) are raised with
    nothing changed. The reset's audit event names the file; a
    ``credentials.exported`` event follows once it is complete.
    """
    target = exports.SecretCsv(export, overwrite=overwrite).prepare()
    try:
        result = credentials.bulk_reset(
            ctx, user_ids, mode=mode, password=password, progress=progress, export=str(target.path)
        )
    except BaseException:
        target.discard()
        raise
    if not result.issued:
        target.discard()
        return ExportedReset(result, None)
    try:
        path = _write(target, result.issued)
    except Exception as error:  # noqa: BLE001 - reported to the caller, who says so plainly
        return ExportedReset(result, None, error)
    return ExportedReset(result, path)
