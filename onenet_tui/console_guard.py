"""How the console behaves at its edges: no terminal, end of input, a crash.

Over SSH the console is often the account's forced command, so ``ssh host
cmd``, ``ssh -T``, scp and sftp start it without a terminal; and a dropped
link leaves it reading a terminal that has hung up. Textual would spin on
that input with the database open. And an unexpected error would print
Textual's traceback with local variables (data included) and exit 0.

- ``onenet-tui`` refuses to start the console without a terminal on input
  and output (``cli._open_console``, before Textual is imported).
- :class:`HangUpAwareDriver` ends the console when its input ends.
- :class:`GuardedConsole` writes an unexpected error's traceback (never
  local variables) to a 0600 log file; :func:`report_crash` prints one line.
"""

from __future__ import annotations

import os
import selectors
import sys
import traceback
from codecs import getincrementaldecoder
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from textual._xterm_parser import XTermParser
from textual.driver import Driver
from textual.drivers.linux_driver import LinuxDriver

from onenet_tui.app import OneNetApp
from onenet_tui.config import APP_NAME
from onenet_tui.i18n import t
from onenet_tui.visible import visible

CRASH_LOG = "crash.log"


class HangUpAwareDriver(LinuxDriver):
    """Textual's Linux driver, except that end of input (the terminal hung up,
    or a read error) quits the console instead of polling a dead input
    forever. The loop is Textual's own, plus that one case."""

    def run_input_thread(self) -> None:
        selector = selectors.SelectSelector()
        selector.register(self.fileno, selectors.EVENT_READ)
        parser = XTermParser(self._debug)
        decode = getincrementaldecoder("utf-8")().decode
        try:
            while not self.exit_event.is_set():
                for _key, mask in selector.select(0.1):
                    if mask & selectors.EVENT_READ and not self._feed(parser, decode):
                        self._input_ended()
                        return
                for event in parser.tick():
                    self.process_message(event)
        finally:
            selector.close()

    def _feed(self, parser: XTermParser, decode: Callable[[bytes], str]) -> bool:
        """Read what is there; False at end of input."""
        try:
            data = os.read(self.fileno, 4096)
        except OSError:
            return False
        if not data:
            return False
        for event in parser.feed(decode(data)):
            self.process_message(event)
        return True

    def _input_ended(self) -> None:
        app = self._app
        self._loop.call_soon_threadsafe(app.exit, None, 0)


class GuardedConsole(OneNetApp):
    """The console as ``onenet-tui`` runs it: its own input driver and, on an
    unexpected error, a log file instead of Textual's traceback."""

    crash: BaseException | None = None
    crash_log: Path | None = None

    def get_driver_class(self) -> type[Driver]:
        driver = super().get_driver_class()
        return HangUpAwareDriver if driver is LinuxDriver else driver

    def _fatal_error(self) -> None:
        # Textual's version renders a traceback with local variables (the
        # data on screen, the session) onto the terminal; keep it off.
        self.crash = self._exception
        if self.crash is not None:
            self.crash_log = write_crash_log(self.crash)
        self._close_messages_no_wait()


def log_directory() -> Path:
    from platformdirs import user_state_dir

    return Path(user_state_dir(APP_NAME))


def write_crash_log(error: BaseException, directory: Path | None = None) -> Path | None:
    """Append the traceback (no local variables) to ``crash.log``, 0600;
    None when it cannot be written (the one-line message says so)."""
    folder = directory or log_directory()
    path = folder / CRASH_LOG
    text = crash_traceback(error)
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "a", encoding="utf-8") as handle:
            handle.write(f"--- {datetime.now(UTC).isoformat(timespec='seconds')}\n{text}")
    except OSError:
        return None
    return path


def crash_traceback(error: BaseException) -> str:
    """The traceback as Python prints it: source lines, never local variables."""
    return "".join(traceback.format_exception(error))


def report_crash(error: BaseException, log: Path | None) -> None:
    """One line on stderr naming the error and the log file; the traceback
    (never local variables) only with ONENET_DEBUG=1."""
    if os.environ.get("ONENET_DEBUG") == "1":
        print(crash_traceback(error), file=sys.stderr, end="")
    first_line = (str(error).strip().splitlines() or [""])[0]
    named = f"{type(error).__name__}: {first_line}".rstrip(": ")
    line = t("ssh.crash", error=named, path=str(log)) if log else t("ssh.crash.no_log", error=named)
    print(t("cli.error", message=visible(line)), file=sys.stderr)
