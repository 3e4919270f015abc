"""The command line (SPEC section 6): the same services as the console, for
scripts.

This module stays light on purpose: it builds the argparse parser and maps
errors to exit codes. The command implementations (``cli_commands``, which
import SQLAlchemy and the domain) are imported only after the arguments were
parsed, and the console (Textual) only when no command is given, so
``onenet-tui --help`` starts in a blink.

Exit codes: 0 done; 2 usage; 3 refused by a rule; 4 invalid input;
5 not found or conflict; 1 anything unexpected.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from collections.abc import Callable, Sequence
from typing import Any

from onenet_tui import __version__
from onenet_tui.i18n import DEFAULT_LANGUAGE, LANGUAGES, set_language, t

EXIT_OK, EXIT_UNEXPECTED, EXIT_USAGE = 0, 1, 2
STATUSES = ("pending", "activated", "failed")
ROLES = ("agent", "supervisor")
GROUP_KINDS = ("hunt_group", "call_center", "pickup", "call_park")


# --- argparse, translated ------------------------------------------------------


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    def add_usage(self, usage: str | None, actions: Any, groups: Any, prefix: str | None = None) -> None:
        super().add_usage(usage, actions, groups, t("cli.usage_prefix") if prefix is None else prefix)


# argparse's own messages are English only; the common ones are translated here.
_ARGPARSE_MESSAGES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"^the following arguments are required: (?P<args>.+)$"), "cli.argparse.required"),
    (re.compile(r"^unrecognized arguments: (?P<args>.+)$"), "cli.argparse.unrecognized"),
    (re.compile(r"^one of the arguments (?P<args>.+) is required$"), "cli.argparse.one_of"),
    (
        re.compile(r"^argument (?P<arg>[^:]+): invalid choice: (?P<value>.+?) \(choose from (?P<choices>.+)\)$"),
        "cli.argparse.invalid_choice",
    ),
    (re.compile(r"^argument (?P<arg>[^:]+): expected one argument$"), "cli.argparse.expected_one"),
    (re.compile(r"^argument (?P<arg>[^:]+): not allowed with argument (?P<other>.+)$"), "cli.argparse.not_allowed"),
    (re.compile(r"^argument (?P<arg>[^:]+): invalid \w+ value: (?P<value>.+)$"), "cli.argparse.invalid_value"),
    (re.compile(r"^argument (?P<arg>[^:]+): (?P<message>.+)$"), "cli.argparse.argument"),
)


def translate_usage_error(message: str) -> str:
    for pattern, key in _ARGPARSE_MESSAGES:
        match = pattern.match(message)
        if match:
            return t(key, **match.groupdict())
    return message


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help and errors speak the chosen language."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        kwargs["add_help"] = False
        super().__init__(*args, **kwargs)
        self._positionals.title = t("cli.section.arguments")
        self._optionals.title = t("cli.section.options")
        self.add_argument("-h", "--help", action="help", default=argparse.SUPPRESS, help=t("cli.opt.help"))

    def error(self, message: str) -> Any:
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, t("cli.usage_error", prog=self.prog, message=translate_usage_error(message)) + "\n")


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(t("cli.type.integer", value=text)) from None
    if value < 0:
        raise argparse.ArgumentTypeError(t("cli.type.non_negative", value=text))
    return value


# The largest LIMIT SQLite and PostgreSQL both accept (a signed 64-bit integer);
# beyond it the database would fail the query instead of argparse the option.
MAX_LIMIT = 2**63 - 1


def _limit(text: str) -> int:
    value = _non_negative_int(text)
    if value > MAX_LIMIT:
        raise argparse.ArgumentTypeError(t("cli.type.at_most", value=text, maximum=MAX_LIMIT))
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(t("cli.type.seconds", value=text)) from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(t("cli.type.seconds", value=text))
    return value


def _global_options(parser: argparse.ArgumentParser, *, top: bool, operator: bool = True) -> None:
    """``--db``, ``--lang``, ``--operator``: accepted before and after the
    command. Below the top they default to SUPPRESS so that an option given
    before the command is not overwritten by an absent one after it.
    ``operator=False``: the command's own ``--operator`` means something
    else (``audit``'s filter, R26); who acts is then named before it."""
    default = None if top else argparse.SUPPRESS
    group = parser.add_argument_group(t("cli.section.global"))
    group.add_argument("--db", metavar="URL", default=default, help=t("cli.opt.db"))
    group.add_argument("--lang", choices=LANGUAGES, default=default, help=t("cli.opt.lang"))
    if operator:
        group.add_argument("--operator", metavar=t("cli.metavar.name"), default=default, help=t("cli.opt.operator"))


def _group_ref(parser: argparse.ArgumentParser) -> None:
    """R22: a group's name is unique per site and kind; these say which of
    several same-named groups is meant."""
    parser.add_argument("--site", metavar=t("cli.metavar.site"), help=t("cli.opt.group_of_site"))
    parser.add_argument("--kind", choices=GROUP_KINDS, help=t("cli.opt.group_of_kind"))


def _format(parser: argparse.ArgumentParser, *choices: str) -> None:
    parser.add_argument("--format", choices=choices, default=choices[0], help=t("cli.opt.format"))


def build_parser() -> Parser:
    parser = Parser(prog="onenet-tui", description=t("cli.description"), epilog=t("cli.epilog"))
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}", help=t("cli.opt.version"))
    _global_options(parser, top=True)
    commands = parser.add_subparsers(dest="command", metavar=t("cli.metavar.command"), title=t("cli.section.commands"))

    def leaf(group: Any, name: str, handler: str, key: str, *, operator: bool = True) -> Parser:
        sub = group.add_parser(name, help=t(f"cli.help.{key}"), description=t(f"cli.help.{key}"))
        sub.set_defaults(handler=handler)
        _global_options(sub, top=False, operator=operator)
        return sub

    def family(name: str, key: str) -> Any:
        sub = commands.add_parser(name, help=t(f"cli.help.{key}"), description=t(f"cli.help.{key}"))
        return sub.add_subparsers(
            dest=f"{name}_command", metavar=t("cli.metavar.command"), required=True, title=t("cli.section.commands")
        )

    user_help = t("cli.arg.user")

    # demo
    demo = leaf(commands, "demo", "demo_cmd", "demo")
    demo.add_argument("--users", type=_non_negative_int, default=250, metavar="N", help=t("cli.opt.users"))
    demo.add_argument("--seed", type=int, default=1, metavar="S", help=t("cli.opt.seed"))
    demo.add_argument("--force", action="store_true", help=t("cli.opt.demo_force"))
    demo.add_argument(
        "--carrier-delay",
        type=_non_negative_int,
        default=30,
        metavar=t("cli.metavar.seconds"),
        help=t("cli.opt.carrier_delay"),
    )
    _format(demo, "table", "json")

    # users
    users = family("users", "users")
    users_list = leaf(users, "list", "users_list", "users_list")
    users_list.add_argument("--status", choices=STATUSES, help=t("cli.opt.status"))
    users_list.add_argument("--site", metavar=t("cli.metavar.site"), help=t("cli.opt.site"))
    _format(users_list, "table", "json", "csv")

    users_export = leaf(users, "export", "users_export", "users_export")
    users_export.add_argument("--status", choices=STATUSES, help=t("cli.opt.status"))
    users_export.add_argument("--site", metavar=t("cli.metavar.site"), help=t("cli.opt.site"))
    users_export.add_argument("--filter", metavar="TEXT", help=t("cli.opt.export_filter"))
    users_export.add_argument("--output", metavar="FILE", help=t("cli.opt.export_output"))
    users_export.add_argument("--force", action="store_true", help=t("cli.opt.export_force"))
    _format(users_export, "csv", "json")

    users_import = leaf(users, "import", "users_import", "users_import")
    users_import.add_argument("file", metavar="FILE", help=t("cli.arg.import_file"))
    users_import.add_argument("--dry-run", action="store_true", help=t("cli.opt.dry_run"))
    users_import.add_argument("--skip-invalid", action="store_true", help=t("cli.opt.skip_invalid"))
    users_import.add_argument("--errors", metavar="FILE.csv", help=t("cli.opt.import_errors"))
    users_import.add_argument("--export", metavar="FILE.csv", help=t("cli.opt.import_export"))
    users_import.add_argument("--force", action="store_true", help=t("cli.opt.export_force"))
    _format(users_import, "table", "json")

    users_show = leaf(users, "show", "users_show", "users_show")
    users_show.add_argument("user", metavar="USER", help=user_help)
    _format(users_show, "table", "json")

    users_add = leaf(users, "add", "users_add", "users_add")
    users_add.add_argument("--site", required=True, metavar=t("cli.metavar.site"), help=t("cli.opt.add_site"))
    users_add.add_argument("--first", required=True, metavar="F", help=t("field.first_name"))
    users_add.add_argument("--last", required=True, metavar="L", help=t("field.last_name"))
    users_add.add_argument("--email", required=True, metavar="E", help=t("field.email"))
    users_add.add_argument("--number", required=True, metavar="NUM", help=t("cli.opt.number"))
    users_add.add_argument("--extension", metavar="X", help=t("cli.opt.extension"))
    users_add.add_argument("--username", metavar="U", help=t("cli.opt.username"))
    users_add.add_argument("--accept-flagged-number", action="store_true", help=t("cli.opt.accept_flagged"))
    device = users_add.add_mutually_exclusive_group(required=True)
    device.add_argument("--desk-phone", metavar=t("cli.metavar.model"), help=t("cli.opt.desk_phone"))
    device.add_argument("--no-desk-phone", action="store_true", help=t("cli.opt.no_desk_phone"))
    users_add.add_argument("--mobile", metavar="M", help=t("cli.opt.mobile"))
    users_add.add_argument("--contract", metavar="C", help=t("cli.opt.contract"))
    users_add.add_argument("--licence", metavar="L", help=t("cli.opt.licence"))
    users_add.add_argument("--service", action="append", default=[], metavar="S", help=t("cli.opt.service"))
    users_add.add_argument(
        "--group", action="append", default=[], metavar=t("cli.metavar.group_role"), help=t("cli.opt.group")
    )
    _format(users_add, "table", "json")

    users_delete = leaf(users, "delete", "users_delete", "users_delete")
    users_delete.add_argument("user", metavar="USER", help=user_help)
    users_delete.add_argument("--yes", action="store_true", help=t("cli.opt.yes"))
    _format(users_delete, "table", "json")

    # sites (R20)
    sites = family("sites", "sites")
    sites_add = leaf(sites, "add", "sites_add", "sites_add")
    sites_add.add_argument("name", metavar=t("cli.metavar.name"), help=t("cli.arg.site_name"))
    sites_add.add_argument("--country", required=True, metavar="DE|GB", help=t("cli.opt.country"))
    sites_add.add_argument("--domain", required=True, metavar="REALM", help=t("cli.opt.domain"))
    _format(sites_add, "table", "json")
    sites_list = leaf(sites, "list", "sites_list", "sites_list")
    _format(sites_list, "table", "json")
    sites_rename = leaf(sites, "rename", "sites_rename", "sites_rename")
    sites_rename.add_argument("site", metavar=t("cli.metavar.site"), help=t("cli.arg.site"))
    sites_rename.add_argument("new_name", metavar=t("cli.metavar.new_name"), help=t("cli.arg.new_name"))
    sites_delete = leaf(sites, "delete", "sites_delete", "sites_delete")
    sites_delete.add_argument("site", metavar=t("cli.metavar.site"), help=t("cli.arg.site"))

    # numbers
    numbers = family("numbers", "numbers")
    numbers_list = leaf(numbers, "list", "numbers_list", "numbers_list")
    numbers_list.add_argument("--site", metavar=t("cli.metavar.site"), help=t("cli.opt.site"))
    numbers_list.add_argument("--free", action="store_true", help=t("cli.opt.free"))
    _format(numbers_list, "table", "json")
    numbers_add = leaf(numbers, "add", "numbers_add", "numbers_add")
    numbers_add.add_argument("entries", nargs="+", metavar=t("cli.metavar.number_range"), help=t("cli.arg.numbers"))
    numbers_add.add_argument("--site", required=True, metavar=t("cli.metavar.site"), help=t("cli.opt.numbers_site"))
    _format(numbers_add, "table", "json")
    numbers_remove = leaf(numbers, "remove", "numbers_remove", "numbers_remove")
    numbers_remove.add_argument(
        "entries", nargs="+", metavar=t("cli.metavar.number_range"), help=t("cli.arg.numbers_remove")
    )
    numbers_remove.add_argument("--site", metavar=t("cli.metavar.site"), help=t("cli.opt.numbers_national"))
    numbers_flag = leaf(numbers, "flag", "numbers_flag", "numbers_flag")
    numbers_flag.add_argument("number", metavar="NUMBER", help=t("cli.arg.number"))
    numbers_flag.add_argument("--reason", required=True, metavar="R", help=t("cli.opt.flag_reason"))
    numbers_flag.add_argument("--site", metavar=t("cli.metavar.site"), help=t("cli.opt.numbers_national"))
    numbers_unflag = leaf(numbers, "unflag", "numbers_unflag", "numbers_unflag")
    numbers_unflag.add_argument("number", metavar="NUMBER", help=t("cli.arg.number"))
    numbers_unflag.add_argument("--site", metavar=t("cli.metavar.site"), help=t("cli.opt.numbers_national"))

    # groups
    groups = family("groups", "groups")
    groups_list = leaf(groups, "list", "groups_list", "groups_list")
    groups_list.add_argument("--site", metavar=t("cli.metavar.site"), help=t("cli.opt.site"))
    _format(groups_list, "table", "json")
    groups_show = leaf(groups, "show", "groups_show", "groups_show")
    groups_show.add_argument("group", metavar="GROUP", help=t("cli.arg.group"))
    _group_ref(groups_show)
    _format(groups_show, "table", "json")
    add_member = leaf(groups, "add-member", "groups_add_member", "groups_add_member")
    add_member.add_argument("group", metavar="GROUP", help=t("cli.arg.group"))
    _group_ref(add_member)
    add_member.add_argument("user", metavar="USER", help=user_help)
    add_member.add_argument("--role", choices=ROLES, help=t("cli.opt.role"))
    remove_member = leaf(groups, "remove-member", "groups_remove_member", "groups_remove_member")
    remove_member.add_argument("group", metavar="GROUP", help=t("cli.arg.group"))
    _group_ref(remove_member)
    remove_member.add_argument("user", metavar="USER", help=user_help)
    groups_add = leaf(groups, "add", "groups_add", "groups_add")
    groups_add.add_argument("name", metavar=t("cli.metavar.name"), help=t("cli.arg.group_name"))
    groups_add.add_argument("--site", required=True, metavar=t("cli.metavar.site"), help=t("cli.opt.group_site"))
    groups_add.add_argument("--kind", required=True, choices=GROUP_KINDS, help=t("cli.opt.kind"))
    _format(groups_add, "table", "json")
    groups_rename = leaf(groups, "rename", "groups_rename", "groups_rename")
    groups_rename.add_argument("group", metavar="GROUP", help=t("cli.arg.group"))
    _group_ref(groups_rename)
    groups_rename.add_argument("new_name", metavar=t("cli.metavar.new_name"), help=t("cli.arg.new_name"))
    groups_delete = leaf(groups, "delete", "groups_delete", "groups_delete")
    groups_delete.add_argument("group", metavar="GROUP", help=t("cli.arg.group"))
    _group_ref(groups_delete)
    groups_delete.add_argument("--yes", action="store_true", help=t("cli.opt.yes_group"))
    _format(groups_delete, "table", "json")
    set_members = leaf(groups, "set-members", "groups_set_members", "groups_set_members")
    set_members.add_argument("group", metavar="GROUP", help=t("cli.arg.group"))
    _group_ref(set_members)
    set_members.add_argument("members", nargs="*", metavar=t("cli.metavar.member"), help=t("cli.arg.members"))
    set_members.add_argument(
        "--if-version", type=_non_negative_int, metavar="N", dest="if_version", help=t("cli.opt.if_version")
    )
    _format(set_members, "table", "json")

    # credentials
    credentials = family("credentials", "credentials")
    reset = leaf(credentials, "reset", "credentials_reset", "credentials_reset")
    reset.add_argument("users", nargs="*", metavar="USER", help=t("cli.arg.users"))
    reset.add_argument("--all", action="store_true", help=t("cli.opt.all"))
    reset.add_argument("--status", choices=STATUSES, help=t("cli.opt.status"))
    reset.add_argument("--site", metavar=t("cli.metavar.site"), help=t("cli.opt.site"))
    reset.add_argument("--password-stdin", action="store_true", help=t("cli.opt.password_stdin"))
    reset.add_argument("--export", required=True, metavar="FILE.csv", help=t("cli.opt.export"))
    reset.add_argument("--force", action="store_true", help=t("cli.opt.export_force"))

    # account
    account = family("account", "account")
    account_reset = leaf(account, "reset", "account_reset", "account_reset")
    account_reset.add_argument("user", metavar="USER", help=user_help)
    account_reset.add_argument("--confirm-self-service-tried", action="store_true", help=t("cli.opt.self_service"))
    _format(account_reset, "table", "json")

    # carrier
    carrier = family("carrier", "carrier")
    activate = leaf(carrier, "activate", "carrier_activate", "carrier_activate")
    activate.add_argument("user", metavar="USER", help=user_help)
    fail = leaf(carrier, "fail", "carrier_fail", "carrier_fail")
    fail.add_argument("user", metavar="USER", help=user_help)
    fail.add_argument("--reason", required=True, metavar="R", help=t("cli.opt.reason"))
    run = leaf(carrier, "run", "carrier_run", "carrier_run")
    run.add_argument("--delay", type=_seconds, metavar=t("cli.metavar.seconds"), help=t("cli.opt.delay"))
    run.add_argument(
        "--interval", type=_seconds, default=2.0, metavar=t("cli.metavar.seconds"), help=t("cli.opt.interval")
    )
    run.add_argument("--once", action="store_true", help=t("cli.opt.once"))

    # operators
    operators = family("operators", "operators")
    operators_add = leaf(operators, "add", "operators_add", "operators_add")
    operators_add.add_argument("name", metavar=t("cli.metavar.name"), help=t("cli.arg.operator"))
    operators_add.add_argument(
        "--role", required=True, choices=("admin", "site_admin", "helpdesk"), help=t("cli.opt.operator_role")
    )
    operators_add.add_argument(
        "--site", action="append", default=[], metavar=t("cli.metavar.site"), help=t("site_admin.opt.site")
    )
    operators_sites = leaf(operators, "set-sites", "operators_set_sites", "operators_set_sites")
    operators_sites.add_argument("name", metavar=t("cli.metavar.name"), help=t("cli.arg.operator"))
    operators_sites.add_argument(
        "--site",
        action="append",
        default=[],
        required=True,
        metavar=t("cli.metavar.site"),
        help=t("site_admin.opt.site"),
    )
    operators_list = leaf(operators, "list", "operators_list", "operators_list")
    _format(operators_list, "table", "json")

    # audit
    audit = leaf(commands, "audit", "audit_cmd", "audit", operator=False)
    audit.add_argument("--limit", type=_limit, metavar="N", help=t("cli.opt.limit"))
    # R26: checked by the service, so that a bad time names its field as the console does.
    audit.add_argument("--user", metavar="U", help=t("history.cli.user"))
    audit.add_argument("--operator", dest="by_operator", metavar="O", help=t("history.cli.operator"))
    audit.add_argument("--action", metavar="A", help=t("history.cli.action"))
    audit.add_argument("--since", metavar="T", help=t("history.cli.since"))
    audit.add_argument("--until", metavar="T", help=t("history.cli.until"))
    _format(audit, "table", "json", "csv")

    # registrar (SPEC section 13)
    registrar = family("registrar", "registrar")
    create_role = leaf(registrar, "create-role", "registrar_create_role", "registrar_create_role")
    create_role.add_argument("--role", default="onenet_registrar", metavar="NAME", help=t("cli.opt.registrar_role"))
    kamailio = leaf(registrar, "kamailio-config", "registrar_kamailio_config", "registrar_kamailio_config")
    kamailio.add_argument("--listen", default="127.0.0.1:5060", metavar="HOST:PORT", help=t("cli.opt.registrar_listen"))
    kamailio.add_argument("--role", default="onenet_registrar", metavar="NAME", help=t("cli.opt.registrar_role"))
    kamailio.add_argument(
        "--gateway", default="sip:127.0.0.1:5070", metavar="SIP-URI", help=t("cli.opt.registrar_gateway")
    )

    # db
    db = family("db", "db")
    leaf(db, "upgrade", "db_upgrade", "db_upgrade")
    return parser


class _NotTheConsole(Exception):
    pass


class _ConsoleParser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise _NotTheConsole  # the whole parser reads it again, and says what is wrong in its words


def console_args(argv: Sequence[str]) -> argparse.Namespace | None:
    """The options of a start that names no command (the console), read
    without building every command's parser first, which costs 35-80 ms of
    the launch (argparse looks for its own translations on disk for each
    one). None for anything else (a command, --help, --version, an unknown
    or a wrong option): :func:`build_parser` reads those."""
    quick = _ConsoleParser(prog="onenet-tui", add_help=False)
    _global_options(quick, top=True)
    try:
        args, rest = quick.parse_known_args(argv)
    except _NotTheConsole:
        return None
    if rest:
        return None
    args.command = None
    return args


# --- running ------------------------------------------------------------------


def early_language(argv: Sequence[str]) -> str:
    """The language for help and usage errors, before argparse has run:
    ``--lang``, then ``ONENET_LANG``, then the config file."""
    for i, arg in enumerate(argv):
        if arg == "--":
            break
        if arg == "--lang" and i + 1 < len(argv):
            candidate = argv[i + 1]
        elif arg.startswith("--lang="):
            candidate = arg.split("=", 1)[1]
        else:
            continue
        if candidate in LANGUAGES:
            return candidate
    env = os.environ.get("ONENET_LANG")
    if env in LANGUAGES:
        return env
    try:
        from onenet_tui.config import config_path, read_config_file

        lang = read_config_file(config_path()).get("lang")
    except Exception:  # noqa: BLE001 - a broken file is reported later, by resolve()
        lang = None
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


def _print_error(message: str) -> None:
    from onenet_tui.visible import visible

    print(t("cli.error", message=visible(message)), file=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    set_language(early_language(argv))
    try:
        args = console_args(argv)
        if args is None:
            args = build_parser().parse_args(argv)
    except SystemExit as exit_:  # --help (0) or a usage error (2)
        return exit_.code if isinstance(exit_.code, int) else EXIT_USAGE

    from onenet_tui.config import ConfigError, resolve

    try:
        settings = resolve(args.db, args.lang, args.operator)
    except ConfigError as exc:
        _print_error(str(exc))
        return EXIT_USAGE
    set_language(settings.lang)
    if args.command is None:
        return _guarded(lambda: _open_console(settings))
    return _guarded(lambda: _run_command(args, settings))


def _open_console(settings: Any) -> int:
    # ssh host cmd, ssh -T, scp and sftp run the forced command without a
    # terminal: say so at once (before Textual loads) instead of drawing into a pipe.
    if not all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout)):
        _print_error(t("ssh.needs_terminal"))
        return EXIT_USAGE
    import gc

    # Importing Textual and the console makes some hundred thousand objects,
    # nearly all for good; the collector's hundred-odd passes over them before
    # the first frame (30-60 ms, more on a busy machine) find next to nothing.
    # The console resumes it once that frame is painted (resume_gc).
    gc.disable()
    try:
        from onenet_tui.data.launch import LookAhead

        # Started before Textual is imported: on PostgreSQL its round trips
        # overlap that import instead of following it.
        ahead = LookAhead(settings.db_url, settings.operator)
        from onenet_tui.app import run_console

        return run_console(settings, ahead)
    finally:
        gc.enable()  # however the console ended (or never started)


class Terminated(KeyboardInterrupt):
    """SIGTERM or SIGHUP (a dropped SSH link): unwinds like ``ctrl+c``, so
    every ``finally`` and ``except BaseException`` cleans up as it does then."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.exit_code = 128 + signum


def _terminate(signum: int, _frame: object) -> None:
    raise Terminated(signum)


def _unwind_on_hangup() -> None:
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers (tests call main() elsewhere)
    for name in ("SIGTERM", "SIGHUP"):
        number = getattr(signal, name, None)
        if number is not None:
            signal.signal(number, _terminate)


def _run_command(args: argparse.Namespace, settings: Any) -> int:
    from onenet_tui import cli_commands

    _unwind_on_hangup()
    handler: Callable[..., int] = getattr(cli_commands, args.handler)
    run = cli_commands.Run(settings)
    try:
        return handler(args, run)
    finally:
        run.close()


def _guarded(action: Callable[[], int]) -> int:
    """Run ``action``, turning every failure into a one-line message on
    stderr and its exit code (a traceback only with ONENET_DEBUG=1)."""
    from onenet_tui.data.errors import DomainError

    try:
        return action()
    except DomainError as exc:
        _print_error(exc.message())
        return exc.exit_code
    except Terminated as exc:
        return exc.exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # The reader went away (``| head``): nothing left to say to it.
        _silence_stdout()
        return EXIT_UNEXPECTED
    except Exception as exc:  # noqa: BLE001 - the last line of defence
        if os.environ.get("ONENET_DEBUG") == "1":
            import traceback

            traceback.print_exc()
        lost = _lost_database(exc)
        if lost is not None:
            _print_error(t("cli.database_lost", error=_first_line(lost)))
        else:
            _print_error(t("cli.unexpected", error=f"{type(exc).__name__}: {_first_line(exc)}".rstrip(": ")))
        return EXIT_UNEXPECTED


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [""])[0]


def _lost_database(exc: Exception) -> BaseException | None:
    """The driver's error when the database server cannot be reached or went
    away mid-command (not a failed statement): said plainly, in one line."""
    from sqlalchemy.exc import DBAPIError, OperationalError

    if not isinstance(exc, DBAPIError):
        return None
    if exc.connection_invalidated:
        return exc.orig
    # psycopg raises a failed connect without a SQLSTATE; 08xxx are connection
    # exceptions, 57P0x the server shutting down.
    sqlstate = getattr(exc.orig, "sqlstate", None) or ""
    from_psycopg = type(exc.orig).__module__.startswith("psycopg")
    if isinstance(exc, OperationalError) and from_psycopg and (not sqlstate or sqlstate.startswith(("08", "57P"))):
        return exc.orig
    return None


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    raise SystemExit(main())
