"""What each command does: call one service, print its result.

Imported by :mod:`onenet_tui.cli` only after the arguments were parsed. Every
change goes through the service layer, so the rules and roles hold exactly as
in the console. Output: tables for people, ``--format json`` (stdout carries
nothing else) and CSV for scripts; messages and errors go to stderr.
"""

from __future__ import annotations

import argparse
import functools
import getpass
import shlex
import signal
import sys
import threading
from collections.abc import Callable
from datetime import timedelta
from functools import cached_property
from typing import Any, TextIO

from onenet_tui import cli_output as out
from onenet_tui.config import Settings
from onenet_tui.data import (
    accounts,
    audit_log,
    bulk,
    carrier,
    catalogs,
    demo,
    exports,
    groups,
    handover,
    import_users,
    listing,
    lookup,
    memberships,
    numbers,
    operators,
    phones,
    registrar,
    selection,
    simulator,
    sites,
    user_csv,
    users,
)
from onenet_tui.data.context import Actor, Context, resolve_actor
from onenet_tui.data.credentials import IssuedCredentials
from onenet_tui.data.errors import InvalidInput, NotFound, RuleRefused
from onenet_tui.data.models import CredentialMode, DeviceType, Role
from onenet_tui.data.policy import JOIN_ACTION, MEMBERSHIP_ACTIONS, Action, enforce_role
from onenet_tui.data.schemas import NewOperator, validate
from onenet_tui.data.storage import Store, current_revision, default_url, upgrade_schema
from onenet_tui.i18n import language, t
from onenet_tui.visible import visible


def _shown(text: str) -> str:
    """Every line as :func:`visible` makes it: the last guard, so that a
    message that quotes a name (a hint with a command to copy) can never
    write a raw escape to the terminal, even where its caller forgot."""
    return "\n".join(map(visible, text.split("\n")))


class Run:
    """One command's surroundings: settings, streams, and the store and the
    acting operator, opened only when a command needs them."""

    def __init__(self, settings: Settings, stdout: TextIO | None = None, stderr: TextIO | None = None):
        self.settings = settings
        self.stdout = stdout or sys.stdout
        self.stderr = stderr or sys.stderr
        self._store: Store | None = None

    @cached_property
    def store(self) -> Store:
        self._store = Store(self.settings.db_url)
        return self._store

    @cached_property
    def actor(self) -> Actor:
        return resolve_actor(self.store, self.settings.operator)

    def register_operator(self) -> None:
        """Resolve the operator even for a read-only command: the first one
        on an empty database becomes admin (SPEC section 7)."""
        self.actor  # noqa: B018 - the property registers on first use

    @property
    def ctx(self) -> Context:
        return Context(self.store, self.actor)

    @property
    def ascii_json(self) -> bool:
        """Escape non-ASCII in JSON when stdout cannot encode it."""
        encoding = (getattr(self.stdout, "encoding", None) or "utf-8").lower().replace("-", "")
        return encoding not in ("utf8", "utf8sig")

    def say(self, text: str = "") -> None:
        self.stdout.write(_shown(text) + "\n")

    def lines(self, lines: list[str]) -> None:
        for line in lines:
            self.say(line)

    def note(self, text: str) -> None:
        self.stderr.write(_shown(text) + "\n")

    def usage_error(self, command: str, message: str) -> int:
        """``onenet-tui <command>: <message>`` on stderr; the usage error's exit code (2)."""
        self.note(t("cli.usage_error", prog=f"onenet-tui {command}", message=message))
        return 2

    def json(self, value: Any) -> None:
        out.write_json(self.stdout, value, ascii_only=self.ascii_json)

    def close(self) -> None:
        if self._store is not None:
            self._store.dispose()


Handler = Callable[[argparse.Namespace, Run], int]


def _role_first(*actions: Action) -> Callable[[Handler], Handler]:
    """R14 before anything else the command checks: an operator who may take
    none of ``actions`` hears "administrators only", never about a bad field
    or a missing user first. The service checks again, with the user's status."""

    def wrap(handler: Handler) -> Handler:
        @functools.wraps(handler)
        def checked(args: argparse.Namespace, run: Run) -> int:
            enforce_role(run.actor.role, *actions)
            return handler(args, run)

        return checked

    return wrap


def _site_filter(value: str | None) -> str | None:
    """``--site ''`` names no site: invalid input, not "every site"."""
    if value is not None and not value.strip():
        raise InvalidInput.single("site", "field.required")
    return value


def _status(code: str) -> str:
    return t(f"status.{code}")


def _device(view_device: str, model: str | None) -> str:
    if view_device == DeviceType.NONE.value:
        return t("device.none")
    return catalogs.label("desk_phones", model, language()) or t("device.desk_phone")


def _licence(code: str | None) -> str:
    return catalogs.label("licences", code, language())


# --- demo ---------------------------------------------------------------------


def _keep_directory(run: Run, args: argparse.Namespace, users: int) -> bool:
    """The operator's directory kept as its snapshot after ``users`` were
    written at once: the next console starts from it instead of reading
    every user (issue 20.2). Whether it was kept."""
    from onenet_tui.data.directory import loading  # the directory's reader: only here

    if args.format != "json":
        run.say(t("cli.directory.keeping", users=t("cli.demo.count.users", count=users)))
    return loading.keep_snapshot(run.ctx.store, run.actor.sites)


@_role_first(Action.ADD_USER)
def demo_cmd(args: argparse.Namespace, run: Run) -> int:
    summary = demo.build(run.ctx, users=args.users, seed=args.seed, force=args.force, carrier_delay=args.carrier_delay)
    from onenet_tui.data.directory import snapshot

    kept = summary.users >= snapshot.KEEP_FROM and _keep_directory(run, args, summary.users)
    if args.format == "json":
        details = [vars(s) for s in summary.sites]
        run.json({**summary.counts(), "tenant": summary.tenant, "site_details": details, "directory_snapshot": kept})
        return 0
    run.say(
        t(
            "cli.demo.done",
            tenant=summary.tenant,
            users=t("cli.demo.count.users", count=summary.users),
            sites=t("cli.demo.count.sites", count=len(summary.sites)),
        )
    )
    run.say()
    headers = [
        t("field.site"),
        t("cli.col.country"),
        t("field.users"),
        t("cli.col.numbers"),
        t("cli.col.free"),
        t("cli.col.flagged"),
        t("field.groups"),
    ]
    run.lines(
        out.table(
            headers, [(s.name, s.country, s.users, s.numbers, s.free, s.flagged, s.groups) for s in summary.sites]
        )
    )
    run.say()
    counts = summary.statuses
    run.say(t("cli.demo.statuses", activated=counts["activated"], pending=counts["pending"], failed=counts["failed"]))
    run.say(
        t(
            "cli.demo.extras",
            desk_phones=t("cli.demo.count.desk_phones", count=summary.desk_phones),
            locked=t("cli.demo.count.locked", count=summary.locked_accounts),
            memberships=t("cli.demo.count.memberships", count=summary.memberships),
            operator=visible(run.actor.name),
        )
    )
    run.say(t("cli.demo.carrier", delay=summary.carrier_delay))
    run.say()
    command = "onenet-tui"
    if run.settings.db_url != default_url():
        command += f" --db {shlex.quote(run.settings.db_url)}"
    run.say(t("cli.demo.open", command=command))
    return 0


# --- users ----------------------------------------------------------------------


def users_list(args: argparse.Namespace, run: Run) -> int:
    _site_filter(args.site)
    run.register_operator()
    with run.store.read() as session:
        if args.format == "json" and not run.ascii_json:
            out.write_json_texts(
                run.stdout, listing.user_json(session, status=args.status, site=args.site, sites=run.actor.sites)
            )
            return 0
        rows = listing.user_dicts(session, status=args.status, site=args.site, sites=run.actor.sites)
        if args.format == "json":
            out.write_json_list(run.stdout, rows)
        elif args.format == "csv":
            user_csv.write(run.stdout, rows)
        else:
            national = phones.national_number
            headers = [
                t("field.status"),
                t("field.name"),
                t("field.username"),
                t("field.extension"),
                t("field.number"),
                t("field.site"),
                # The model, or "without desk phone": the directory's column.
                t("directory.column.device"),
                t("field.licence"),
            ]
            table_rows = out.Counted(
                (
                    _status(u["status"]),
                    f"{u['last_name']}, {u['first_name']}",
                    u["username"],
                    u["extension"],
                    national(u["number"], u["country"]),
                    u["site"],
                    _device(u["device_type"], u["desk_phone_model"]),
                    _licence(u["licence"]),
                )
                for u in rows
            )
            for line in out.table_lines(headers, table_rows):
                run.say(line)
            run.note(t("cli.users.count", count=table_rows.count))
    return 0


def users_export(args: argparse.Namespace, run: Run) -> int:
    """The directory as a file an import takes back unchanged (SPEC section 12)."""
    _site_filter(args.site)
    run.register_operator()
    # Streamed: a batch of users in memory at a time, written as they are read.
    with user_csv.export_users(run.ctx, status=args.status, site=args.site, text=args.filter) as chosen:
        if args.output is None:
            if args.format == "json":
                out.write_json_list(run.stdout, chosen)
            else:
                user_csv.write(run.stdout, chosen)
            return 0
        if args.format == "json":
            user_csv.write_json_file(args.output, chosen, overwrite=args.force)
        else:
            rows = map(user_csv.export_row, chosen)
            exports.write_secret_csv(args.output, user_csv.COLUMNS, rows, overwrite=args.force)
    run.note(t("cli.users.exported", count=chosen.count, path=visible(args.output)))
    return 0


@_role_first(Action.ADD_USER, Action.EDIT_CONFIGURATION)
def users_import(args: argparse.Namespace, run: Run) -> int:
    """Users in from a CSV file (R23): a dry run, all or nothing, or the valid rows."""
    file = user_csv.read_path(args.file)
    # Both files are claimed before anything changes: an existing one refuses now.
    errors = exports.SecretCsv(args.errors, overwrite=args.force).prepare() if args.errors else None
    if args.dry_run:
        planned = import_users.plan(run.ctx, file)
        _import_report(run, args, planned, dry_run=True)
        _write_errors(run, errors, planned)
        return 4 if planned.failed else 0
    target = exports.SecretCsv(args.export, overwrite=args.force).prepare() if args.export else None
    try:
        result = import_users.apply(run.ctx, file, skip_invalid=args.skip_invalid, allow_credentials=target is not None)
    except import_users.ImportRefused as refused:
        if target is not None:
            target.discard()
        _import_report(run, args, refused.plan, dry_run=False, refused=True)
        _write_errors(run, errors, refused.plan)
        raise
    except BaseException:
        if target is not None:
            target.discard()
        if errors is not None:
            errors.discard()
        raise
    written = None
    if target is not None and result.issued:
        try:
            written = target.commit(exports.CREDENTIAL_COLUMNS, exports.credential_rows(result.issued))
        except Exception as error:  # noqa: BLE001 - the users are in; say plainly that the file is not
            run.note(t("cli.credentials.write_failed", path=visible(args.export), error=visible(error)))
            _write_errors(run, errors, result.plan)
            return 1
        import_users.record_exported(run.ctx, result.issued, str(written))
    elif target is not None:
        target.discard()
    _import_report(run, args, result.plan, dry_run=False, credentials=written)
    _write_errors(run, errors, result.plan)
    from onenet_tui.data.directory.loading import CATCH_UP_LIMIT

    counts = result.plan.counts()
    changed = counts[import_users.Outcome.ADD] + counts[import_users.Outcome.CHANGE]
    if changed > CATCH_UP_LIMIT:
        _keep_directory(run, args, changed)  # more than a console catches up at launch
    return 0


def _write_errors(run: Run, target: exports.SecretCsv | None, planned: import_users.Plan) -> None:
    if target is None:
        return
    if not planned.failed:
        target.discard()
        return
    header, rows = import_users.error_rows(planned)
    path = target.commit(header, rows)
    run.note(t("cli.import.errors_written", count=len(rows), path=visible(path)))


def _import_report(
    run: Run,
    args: argparse.Namespace,
    planned: import_users.Plan,
    *,
    dry_run: bool,
    refused: bool = False,
    credentials: Any = None,
) -> None:
    counts = planned.counts()
    if args.format == "json":
        result = planned.to_json()
        result["dry_run"] = dry_run
        result["credentials_file"] = str(credentials) if credentials else None
        run.json(result)
        return
    # A refused import was checked, not run dry: the error after the rows says nothing changed.
    key = "cli.import.checked" if refused else "cli.import.dry_run" if dry_run else "cli.import.done"
    run.say(
        t(
            key,
            file=visible(planned.file.name),
            add=counts["add"],
            change=counts["change"],
            unchanged=counts["unchanged"],
            fail=counts["fail"],
        )
    )
    for row in planned.rows:
        for old_new in row.changes.items():
            name, (old, new) = old_new
            run.say(
                t(
                    "cli.import.change",
                    line=row.line,
                    username=visible(row.username),
                    column=name,
                    old=visible(_cell(old)),
                    new=visible(_cell(new)),
                )
            )
    for failure in planned.failures:
        run.say(t("cli.import.failure", line=failure.line, text=visible(failure.text())))
    if credentials:
        run.say(
            t(
                "cli.import.credentials",
                count=len(planned.rows) and planned.credentials_needed,
                path=visible(credentials),
            )
        )
        run.say(t("cli.credentials.file_note"))


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return " ".join(map(str, value)) or "-"
    return str(value)


def users_show(args: argparse.Namespace, run: Run) -> int:
    view = users.view(run.ctx, args.user)
    if args.format == "json":
        run.json(view.to_json())
        return 0
    run.lines(user_details(view))
    return 0


def user_details(view: lookup.UserView) -> list[str]:
    """A user as label: value lines, with the status explained (R3)."""
    status = _status(view.status) + (f" ({view.status_reason})" if view.status_reason else "")
    items: list[tuple[str, object]] = [
        (t("field.username"), view.username),
        (t("field.name"), view.name),
        (t("field.status"), status),
        (t("field.site"), view.site),
        (t("field.number"), f"{view.national_number}  ({view.number})"),
        (t("field.extension"), view.extension),
        # The console's words: the device type, then the model on a line of its own.
        (t("field.device_type"), t(f"device.{view.device_type}")),
        (t("field.desk_phone_model"), catalogs.label("desk_phones", view.desk_phone_model, language()) or "-"),
        (t("field.licence"), _licence(view.licence)),
        (t("field.services"), ", ".join(catalogs.label("services", s, language()) for s in view.services) or "-"),
        (t("field.mobile"), view.mobile or "-"),
        (t("field.contract"), view.contract or "-"),
        (t("field.email"), view.email),
        (t("field.department"), view.department or "-"),
        (t("field.job_title"), view.job_title or "-"),
        (
            t("cli.show.portal"),
            t(
                "cli.show.locked" if view.portal_locked else "cli.show.unlocked",
                failed=view.failed_logins,
                count=view.failed_logins,
            ),
        ),
        (
            t("field.groups"),
            ", ".join(
                f"{g.name} ({t('kind.' + g.kind)}" + (f", {t('role.' + g.role)})" if g.role else ")")
                for g in view.groups
            )
            or "-",
        ),
    ]
    if view.credentials:
        # As the console's detail shows them: the SIP username is the digits,
        # the domain a line of its own.
        items += [
            (t("lifecycle.detail.sip_username"), view.credentials.sip_username),
            (t("lifecycle.detail.sip_domain"), view.credentials.sip_domain),
            (t("lifecycle.detail.generated_at"), f"{view.credentials.generated_at:%Y-%m-%d %H:%M} UTC"),
            (t("lifecycle.detail.generated_by"), view.credentials.generated_by),
        ]
    lines = out.pairs(items)
    if view.status == "pending":
        lines += ["", t("cli.show.pending_hint")]
    elif view.status == "failed":
        lines += [
            "",
            t("cli.show.failed_hint"),
            visible(
                t(
                    "cli.show.support_summary",
                    username=view.username,
                    name=view.name,
                    number=view.number,
                    site=view.site,
                    reason=view.status_reason or "-",
                    at=f"{view.status_changed_at:%Y-%m-%d %H:%M} UTC",
                )
            ),
        ]
    return lines


def _group_choice(text: str) -> dict[str, str | None]:
    """``NAME`` or ``NAME:role`` (role agent or supervisor)."""
    name, sep, role = text.rpartition(":")
    if sep and role in ("agent", "supervisor") and name:
        return {"group": name, "role": role}
    return {"group": text, "role": None}


@_role_first(Action.ADD_USER)
def users_add(args: argparse.Namespace, run: Run) -> int:
    data: dict[str, Any] = {
        "first_name": args.first,
        "last_name": args.last,
        "email": args.email,
        "site": args.site,
        "number": args.number,
        "device_type": DeviceType.NONE.value if args.no_desk_phone else DeviceType.DESK_PHONE.value,
        "services": tuple(args.service),
        "groups": tuple(_group_choice(g) for g in args.group),
        "accept_flagged": args.accept_flagged_number,
    }
    optional = {
        "desk_phone_model": args.desk_phone,
        "extension": args.extension,
        "username": args.username,
        "mobile": args.mobile,
        "contract": args.contract,
        "licence": args.licence,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    try:
        added = users.add_user_from(run.ctx, data)
    except RuleRefused as refused:
        if refused.rule != "R21":
            raise
        # R21: say the flag and how to go on anyway (exit 3, as refused).
        raise RuleRefused("R21", "cli.r21.refused", reason=refused.reason()) from None
    for notice in added.notices:
        run.note(t(notice))
    issued = added.credentials
    if args.format == "json":
        result = added.user.to_json()
        if issued:
            # Shown once (R8): the only place the password ever appears.
            result["new_credentials"] = {
                "sip_username": issued.sip_username,
                "password": issued.password,
                "sip_domain": issued.sip_domain,
            }
        run.json(result)
        _handed_over(run, issued)
        return 0
    view = added.user
    run.say(t("cli.users.added", username=visible(view.username), status=_status(view.status)))
    run.lines(user_details(view))
    if issued:
        run.say()
        run.say(t("cli.credentials.once"))
        run.lines(
            out.pairs(
                [
                    (t("cli.show.sip_username"), issued.sip_username),
                    (t("field.password"), issued.password),
                    (t("cli.col.sip_domain"), issued.sip_domain),
                ]
            )
        )
        _handed_over(run, issued)
    return 0


def _handed_over(run: Run, issued: IssuedCredentials | None) -> None:
    """Printed is handed over: the directory need not ask to regenerate."""
    if issued is not None:
        run.stdout.flush()
        handover.record_handed_over(run.ctx, issued.username, issued.user_id)


@_role_first(Action.DELETE_USER)
def users_delete(args: argparse.Namespace, run: Run) -> int:
    if not args.yes:
        return run.usage_error("users delete", t("cli.delete.needs_yes", user=visible(args.user)))
    report = users.delete_user(run.ctx, args.user)
    if args.format == "json":
        run.json(
            {
                "deleted": report.username,
                "name": report.name,
                "number": report.number,
                "groups": [{"name": g.name, "kind": g.kind, "remaining": g.remaining} for g in report.groups],
            }
        )
        return 0
    run.say(t("cli.delete.done", username=visible(report.username), number=report.number))
    if report.groups:
        run.say(t("cli.delete.tell"))
        for group in report.groups:
            run.say(
                f"  {visible(group.name)} ({t('kind.' + group.kind)}): {visible(', '.join(group.remaining)) or '-'}"
            )
    return 0


# --- sites ----------------------------------------------------------------------


def _site_json(site: sites.SiteSummary) -> dict[str, Any]:
    return site.to_json()


@_role_first(Action.MANAGE_SITES)
def sites_add(args: argparse.Namespace, run: Run) -> int:
    site = sites.add_site(run.ctx, args.name, args.country, args.domain)
    if args.format == "json":
        run.json(_site_json(site))
        return 0
    run.say(t("cli.sites.added", site=visible(site.name), country=site.country, domain=visible(site.sip_domain)))
    run.say(t("cli.sites.next", command=f"onenet-tui numbers add --site {shlex.quote(site.name)} NUMBER|RANGE"))
    return 0


def sites_list(args: argparse.Namespace, run: Run) -> int:
    run.register_operator()
    found = sites.list_sites(run.ctx)
    if args.format == "json":
        run.json([_site_json(s) for s in found])
        return 0
    if not found:
        run.note(t("cli.sites.none"))
        return 0
    headers = [
        t("field.site"),
        t("cli.col.country"),
        t("field.domain"),
        t("field.users"),
        t("cli.col.numbers"),
        t("cli.col.free"),
        t("cli.col.assigned"),
        t("cli.col.flagged"),
        t("field.groups"),
    ]
    run.lines(
        out.table(
            headers,
            [
                (s.name, s.country, s.sip_domain, s.users, s.numbers, s.free, s.assigned, s.flagged, s.groups)
                for s in found
            ],
        )
    )
    return 0


@_role_first(Action.MANAGE_SITES)
def sites_rename(args: argparse.Namespace, run: Run) -> int:
    new = sites.rename_site(run.ctx, args.site, args.new_name)
    run.say(t("cli.sites.renamed", old=visible(args.site), new=visible(new)))
    return 0


@_role_first(Action.MANAGE_SITES)
def sites_delete(args: argparse.Namespace, run: Run) -> int:
    sites.delete_site(run.ctx, args.site)
    run.say(t("cli.sites.deleted", site=visible(args.site)))
    return 0


# --- numbers --------------------------------------------------------------------


def numbers_list(args: argparse.Namespace, run: Run) -> int:
    site = _site_filter(args.site)
    run.register_operator()
    rows = listing.number_rows(run.ctx, site=site, free=args.free)
    national = phones.national_number
    if args.format == "json":
        run.json(
            [
                {
                    "number": row.e164,
                    "national": national(row.e164, row.country),
                    "site": row.site,
                    "free": row.username is None,
                    "username": row.username,
                    "flagged": bool(row.flagged),
                    "flag_reason": row.flag_reason,
                }
                for row in rows
            ]
        )
        return 0
    headers = [t("field.number"), t("field.site"), t("field.user"), t("cli.col.flag")]
    run.lines(
        out.table(
            headers,
            [
                (
                    national(row.e164, row.country),
                    row.site,
                    row.username or t("cli.numbers.free"),
                    row.flag_reason or ("!" if row.flagged else ""),
                )
                for row in rows
            ],
        )
    )
    run.note(t("cli.numbers.count", count=len(rows)))
    return 0


@_role_first(Action.MANAGE_NUMBERS)
def numbers_add(args: argparse.Namespace, run: Run) -> int:
    added = numbers.add_numbers(run.ctx, args.site, args.entries)
    ordered = sorted(added.numbers)
    if args.format == "json":
        run.json({"site": added.site, "count": added.count, "numbers": ordered})
        return 0
    run.say(
        t(
            "cli.numbers.added",
            count=added.count,
            site=visible(added.site or ""),
            first=ordered[0],
            last=ordered[-1],
        )
    )
    return 0


@_role_first(Action.MANAGE_NUMBERS)
def numbers_remove(args: argparse.Namespace, run: Run) -> int:
    removed = numbers.remove_numbers(run.ctx, args.entries, site=args.site)
    run.say(t("cli.numbers.removed", count=removed.count))
    return 0


@_role_first(Action.FLAG_NUMBER)
def numbers_flag(args: argparse.Namespace, run: Run) -> int:
    done = numbers.flag_number(run.ctx, args.number, args.reason, site=args.site)
    run.say(t("cli.numbers.flagged", number=done.number, reason=visible(done.reason or "")))
    if done.username:
        run.note(t("cli.numbers.flagged_holder", username=visible(done.username)))
    return 0


@_role_first(Action.FLAG_NUMBER)
def numbers_unflag(args: argparse.Namespace, run: Run) -> int:
    done = numbers.unflag_number(run.ctx, args.number, site=args.site)
    run.say(t("cli.numbers.unflagged", number=done.number))
    return 0


# --- groups ---------------------------------------------------------------------


def groups_list(args: argparse.Namespace, run: Run) -> int:
    found = groups.list_groups(run.ctx, site=_site_filter(args.site))
    if args.format == "json":
        run.json([g.to_json() for g in found])
        return 0
    headers = [t("field.name"), t("cli.col.kind"), t("field.site"), t("cli.col.members")]
    run.lines(out.table(headers, [(g.name, t("kind." + g.kind), g.site, len(g.members)) for g in found]))
    return 0


def groups_show(args: argparse.Namespace, run: Run) -> int:
    run.register_operator()
    group = groups.group_detail(run.ctx, args.group, site=args.site, kind=args.kind)
    if args.format == "json":
        run.json(group.to_json())
        return 0
    run.lines(_group_pairs(group.name, group.kind, group.site, len(group.members)))
    run.say()
    run.lines(_member_table(group.members))
    return 0


def _group_pairs(name: str, kind: str, site: str, members: int) -> list[str]:
    return out.pairs(
        [
            (t("field.name"), name),
            (t("cli.col.kind"), t("kind." + kind)),
            (t("field.site"), site),
            (t("cli.col.members"), members),
        ]
    )


def _member_table(members: list[groups.GroupMemberRow]) -> list[str]:
    return out.table(
        [t("field.username"), t("field.name"), t("field.role"), t("field.status")],
        [(m.username, m.name, t("role." + m.role) if m.role else "", _status(m.status)) for m in members],
    )


@_role_first(Action.MANAGE_GROUPS)
def groups_add(args: argparse.Namespace, run: Run) -> int:
    group = groups.add_group(run.ctx, args.site, args.kind, args.name)
    if args.format == "json":
        run.json({"name": group.name, "kind": group.kind, "site": group.site, "members": [], "version": group.version})
        return 0
    run.say(t("cli.groups.created", group=visible(group.name), kind=t("kind." + group.kind), site=visible(group.site)))
    return 0


@_role_first(Action.MANAGE_GROUPS)
def groups_rename(args: argparse.Namespace, run: Run) -> int:
    group = groups.rename_group(run.ctx, args.group, args.new_name, site=args.site, kind=args.kind)
    run.say(t("cli.groups.renamed", old=visible(args.group), new=visible(group.name)))
    return 0


@_role_first(Action.MANAGE_GROUPS)
def groups_delete(args: argparse.Namespace, run: Run) -> int:
    if not args.yes:
        return run.usage_error("groups delete", t("cli.groups.delete_needs_yes", group=visible(args.group)))
    deleted = groups.delete_group(run.ctx, args.group, site=args.site, kind=args.kind)
    if args.format == "json":
        run.json(
            {
                "deleted": deleted.name,
                "kind": deleted.kind,
                "site": deleted.site,
                "members": [{"username": m.username, "name": m.name, "role": m.role} for m in deleted.members],
            }
        )
        return 0
    run.say(t("cli.groups.deleted", group=visible(deleted.name), site=visible(deleted.site)))
    if deleted.members:
        run.say(t("cli.groups.tell", count=len(deleted.members)))
        run.lines(_member_table(deleted.members))
    return 0


@_role_first(*MEMBERSHIP_ACTIONS)
def groups_set_members(args: argparse.Namespace, run: Run) -> int:
    chosen = [memberships.parse_member(text) for text in args.members]
    done = memberships.set_group_members(
        run.ctx, args.group, chosen, expected_version=args.if_version, site=args.site, kind=args.kind
    )
    for notice in done.notices:
        run.note(f"{visible(notice.username)}: {t(notice.key)}")
    if args.format == "json":
        run.json(
            {
                "group": args.group,
                "joined": [{"username": u, "role": r} for u, r in done.joined],
                "left": done.left,
                "roles": [{"username": u, "from": old, "to": new} for u, old, new in done.roles],
            }
        )
        return 0
    if not done:
        run.say(t("cli.groups.unchanged", group=visible(args.group)))
        return 0
    joined, left, roles = len(done.joined), len(done.left), len(done.roles)
    run.say(t("cli.groups.set", group=visible(args.group), joined=joined, left=left, roles=roles))
    for username, role in done.joined:
        run.say(f"  + {visible(username)}" + (f" ({t('role.' + role)})" if role else ""))
    for username in done.left:
        run.say(f"  - {visible(username)}")
    for username, _old, new in done.roles:
        run.say(f"  ~ {visible(username)} ({t('role.' + new) if new else '-'})")
    return 0


@_role_first(*JOIN_ACTION.values())
def groups_add_member(args: argparse.Namespace, run: Run) -> int:
    notices = groups.add_member(run.ctx, args.group, args.user, args.role, site=args.site, kind=args.kind)
    run.say(t("cli.groups.added", user=visible(args.user), group=visible(args.group)))
    for notice in notices:
        run.note(t(notice))
    return 0


@_role_first(Action.LEAVE_GROUP)
def groups_remove_member(args: argparse.Namespace, run: Run) -> int:
    groups.remove_member(run.ctx, args.group, args.user, site=args.site, kind=args.kind)
    run.say(t("cli.groups.removed", user=visible(args.user), group=visible(args.group)))
    return 0


# --- credentials ----------------------------------------------------------------


def _read_password(run: Run) -> str:
    """An admin-chosen password (R10/R11): typed twice at a terminal, else the
    first line of stdin."""
    if sys.stdin.isatty():
        first = getpass.getpass(t("cli.credentials.prompt"))
        second = getpass.getpass(t("cli.credentials.prompt_again"))
        if first != second:
            raise InvalidInput.single("password", "cli.credentials.mismatch")
        return first
    line = sys.stdin.readline()
    password = line.rstrip("\r\n")
    if not password:
        raise InvalidInput.single("password", "field.required")
    return password


@_role_first(Action.BULK_CREDENTIALS)
def credentials_reset(args: argparse.Namespace, run: Run) -> int:
    chosen = selection.Selection(tuple(args.users), args.all, args.status, args.site)
    problem = chosen.problem()
    if problem:
        return run.usage_error("credentials reset", t(problem))
    _warn_never_exported(run)
    password = _read_password(run) if args.password_stdin else None
    with run.store.read() as session:
        ids = selection.user_ids(session, chosen, sites=run.actor.sites)
    if not ids:
        raise NotFound("user", t("cli.credentials.nobody"))
    mode = CredentialMode.ADMIN if password is not None else CredentialMode.SYSTEM
    # The console's bulk screen runs the same flow: file claimed first, one transaction.
    outcome = bulk.reset_and_export(run.ctx, ids, args.export, overwrite=args.force, mode=mode, password=password)
    result = outcome.result
    for skipped in result.skipped:
        run.note(
            t(
                "cli.credentials.skipped",
                username=visible(skipped.target.username),
                name=visible(skipped.target.name),
                rule=skipped.rule,
                reason=t(skipped.reason_key),
            )
        )
    if outcome.write_error is not None:
        # The new passwords are in force but could not be saved: say so plainly.
        run.note(t("cli.credentials.write_failed", path=visible(args.export), error=visible(outcome.write_error)))
        return 1
    if outcome.path is None:
        run.say(t("cli.credentials.none_issued"))
        return 0
    path = outcome.path
    run.say(t("cli.credentials.done", count=len(result.issued), path=visible(path), skipped=len(result.skipped)))
    run.say(t("cli.credentials.file_note"))
    return 0


def _warn_never_exported(run: Run) -> None:
    """Earlier resets whose passwords changed but never reached a file (a
    crash, a full disk): the admin must reset those users again."""
    with run.store.read() as session:
        pending = handover.pending_exports(session, run.actor.sites)
    for reset in pending:
        key, params = reset.warning()
        shown = {name: visible(value) if isinstance(value, str) else value for name, value in params.items()}
        run.note(t(key, lang=None, **shown))


# --- account --------------------------------------------------------------------


@_role_first(Action.RESET_ACCOUNT)
def account_reset(args: argparse.Namespace, run: Run) -> int:
    result = accounts.reset_account(run.ctx, args.user, self_service_tried=args.confirm_self_service_tried)
    if args.format == "json":
        run.json({"username": result.username, "activation_code": result.activation_code})
        return 0
    run.say(t("cli.account.done", username=visible(result.username)))
    run.say(t("cli.account.code", code=result.activation_code))
    run.say(t("cli.account.once"))
    return 0


# --- carrier --------------------------------------------------------------------


@_role_first(Action.SET_CARRIER_STATUS)
def carrier_activate(args: argparse.Namespace, run: Run) -> int:
    done = carrier.set_status(run.ctx, args.user, "activated")
    run.say(t("cli.carrier.activated", username=visible(done.username)))
    return 0


@_role_first(Action.SET_CARRIER_STATUS)
def carrier_fail(args: argparse.Namespace, run: Run) -> int:
    done = carrier.set_status(run.ctx, args.user, "failed", args.reason)
    run.say(t("cli.carrier.failed", username=visible(done.username), reason=visible(done.reason)))
    return 0


@_role_first(Action.START_CARRIER_SIMULATOR)
def carrier_run(args: argparse.Namespace, run: Run) -> int:
    stop = threading.Event()
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: stop.set())
    delay = None if args.delay is None else timedelta(seconds=args.delay)

    def report(transition: carrier.Transition) -> None:
        if transition.status == "failed":
            run.say(t("cli.carrier.failed", username=visible(transition.username), reason=visible(transition.reason)))
        else:
            run.say(t("cli.carrier.activated", username=visible(transition.username)))
        run.stdout.flush()

    if not args.once:
        run.note(t("cli.carrier.running", interval=args.interval))
    try:
        applied = simulator.start(
            run.ctx, delay=delay, interval=args.interval, once=args.once, report=report, stop=stop
        )
    except KeyboardInterrupt:
        applied = None
    if applied is not None:
        run.note(t("cli.carrier.summary", count=applied))
    return 0


# --- operators ------------------------------------------------------------------


@_role_first(Action.ADD_OPERATOR)
def operators_add(args: argparse.Namespace, run: Run) -> int:
    data = validate(NewOperator, {"name": args.name, "role": args.role, "sites": tuple(args.site)})
    operator = operators.add_operator(run.ctx, data)
    run.say(t("cli.operators.added", name=visible(operator.name), role=t("role." + operator.role)))
    if operator.sites:
        run.say(t("site_admin.cli.sites", name=visible(operator.name), sites=", ".join(map(visible, operator.sites))))
    return 0


def operators_set_sites(args: argparse.Namespace, run: Run) -> int:
    """R25: which sites a site administrator administers."""
    operator = operators.set_sites(run.ctx, args.name, args.site)
    run.say(t("site_admin.cli.sites", name=visible(operator.name), sites=", ".join(map(visible, operator.sites))))
    return 0


def operators_list(args: argparse.Namespace, run: Run) -> int:
    found = operators.list_operators(run.ctx)
    if args.format == "json":
        run.json(
            [
                {"name": o.name, "role": o.role, "created_at": o.created_at.isoformat(), "sites": list(o.sites)}
                for o in found
            ]
        )
        return 0
    headers = [t("field.name"), t("field.role"), t("site_admin.col.sites")]
    # The enterprise administrator's, helpdesk's and the carrier's scope is every site (R25).
    every = t("site_admin.every_site")
    rows = [(o.name, t("role." + o.role), _operator_sites(o.role, o.sites, every)) for o in found]
    run.lines(out.table(headers, rows))
    return 0


def _operator_sites(role: str, sites: tuple[str, ...], every: str) -> str:
    if role != Role.SITE_ADMIN.value:
        return every
    return ", ".join(sites) or t("site_admin.no_sites")


# --- audit ----------------------------------------------------------------------

AUDIT_COLUMNS = ("at", "operator", "action", "target", "details")


def audit_cmd(args: argparse.Namespace, run: Run) -> int:
    # Checked first: a bad time is refused before anything is read or registered.
    wanted = audit_log.build(
        user=args.user, operator=args.by_operator, action=args.action, since=args.since, until=args.until
    )
    run.register_operator()
    with run.store.read() as session:
        # R25: a site administrator reads their sites' events only.
        events = audit_log.page(
            session, wanted, limit=args.limit, newest_first=args.limit is not None, site_ids=audit_log.scope(run.ctx)
        )
    if args.limit is not None:
        events.reverse()  # the newest N, shown oldest first like the rest
    rows = [
        {
            "id": e.id,
            "at": e.at.isoformat(),
            "operator": e.operator,
            "action": e.action,
            "target": e.target,
            "details": e.details,
        }
        for e in events
    ]
    if args.format == "json":
        run.json(rows)
    elif args.format == "csv":
        exports.write_rows(
            run.stdout,
            AUDIT_COLUMNS,
            ([r["at"], r["operator"], r["action"], r["target"], out.dumps(r["details"], indent=None)] for r in rows),
        )
    else:
        headers = [
            t("cli.col.at"),
            t("cli.col.operator"),
            t("cli.col.action"),
            t("cli.col.target"),
            t("cli.col.details"),
        ]
        run.lines(
            out.table(
                headers,
                [
                    (
                        f"{e.at:%Y-%m-%d %H:%M:%S}",
                        carrier.shown_operator(e.operator, e.action),
                        e.action,
                        e.target,
                        _shorten(out.dumps(e.details, indent=None), 70),
                    )
                    for e in events
                ],
            )
        )
    return 0


def _shorten(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


# --- registrar --------------------------------------------------------------------


@_role_first(Action.MANAGE_REGISTRAR)
def registrar_create_role(args: argparse.Namespace, run: Run) -> int:
    made = registrar.create_role(run.ctx, args.role)
    # The password once, as the line libpq's password file wants; never stored by us.
    run.say(made.pgpass_line)
    run.note(t("registrar.role_created", role=made.role, schema=visible(made.schema), view=registrar.VIEW))
    return 0


def registrar_kamailio_config(args: argparse.Namespace, run: Run) -> int:
    config = registrar.kamailio_config(run.settings.db_url, listen=args.listen, role=args.role, gateway=args.gateway)
    # Written as it is (tabs and all): the shipped file plus values checked to be plain.
    run.stdout.write(config)
    run.note(t("registrar.config_note"))
    return 0


# --- db -------------------------------------------------------------------------


def db_upgrade(args: argparse.Namespace, run: Run) -> int:
    store = Store(run.settings.db_url, upgrade=False)
    try:
        before = current_revision(store.engine)
        upgrade_schema(store.engine)
        after = current_revision(store.engine)
    finally:
        store.dispose()
    if before == after:
        run.say(t("cli.db.current", revision=after))
    else:
        run.say(t("cli.db.upgraded", before=before or t("cli.db.empty"), after=after))
    return 0
