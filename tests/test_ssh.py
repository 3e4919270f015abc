"""The console over SSH (issue 13), as real processes: no terminal, end of
input, a crash, and the shipped ``deploy/ssh`` recipe under a real ``sshd``
on the loopback."""

from __future__ import annotations

import fcntl
import os
import select
import signal
import struct
import subprocess
import sys
import termios
import textwrap
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.conftest import IN_CI
from tests.helpers import build_world, failed_user

ROOT = Path(__file__).resolve().parent.parent
BOUND = 20.0  # seconds any one process may take here


def console_env(tmp_path: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    for name in ("ONENET_DEBUG", "ONENET_OPERATOR", "NO_COLOR", "ONENET_EXPORT_DIR"):
        env.pop(name, None)
    env.update(
        TERM="xterm-256color",
        ONENET_DB_URL=f"sqlite:///{tmp_path / 'onenet.db'}",
        ONENET_CONFIG=str(tmp_path / "config.toml"),
        XDG_STATE_HOME=str(tmp_path / "state"),
        XDG_DATA_HOME=str(tmp_path / "data"),
        PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p),
    )
    env.update(extra)
    return env


@dataclass
class Terminal:
    """A process on the slave side of a pseudo-terminal, 80x24, read from the master."""

    process: subprocess.Popen[bytes]
    master: int
    screen: bytearray = field(default_factory=bytearray)

    @classmethod
    def start(cls, argv: Sequence[str], env: dict[str, str]) -> Terminal:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
        process = subprocess.Popen(list(argv), stdin=slave, stdout=slave, stderr=slave, env=env, start_new_session=True)
        os.close(slave)
        return cls(process, master)

    def read_until(self, wanted: bytes, timeout: float = BOUND) -> bool:
        deadline = time.monotonic() + timeout
        while wanted not in self.screen and time.monotonic() < deadline:
            if not self._read(0.1) and self.process.poll() is not None:
                break
        return wanted in self.screen

    def _read(self, wait: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], wait)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # EIO: the slave side is closed
            return False
        self.screen += chunk
        return bool(chunk)

    def send(self, data: bytes) -> None:
        os.write(self.master, data)

    def type(self, *keys: bytes) -> None:
        """One key at a time, as a person types (a burst can arrive as one read)."""
        for key in keys:
            self.send(key)
            time.sleep(0.1)

    def wait(self, timeout: float = BOUND) -> int | None:
        """The exit code within ``timeout`` (reading on, so the process never blocks writing), else None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            code = self.process.poll()
            if code is not None:
                while self._read(0.05):
                    pass
                return code
            self._read(0.05)
        return None

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(5)
        try:
            os.close(self.master)
        except OSError:
            pass

    def text(self) -> str:
        return self.screen.decode("utf-8", "replace")


@pytest.fixture
def terminals() -> Iterator[list[Terminal]]:
    started: list[Terminal] = []
    yield started
    for terminal in started:
        terminal.stop()


# --- no terminal, no console ---------------------------------------------------------------------


def test_console_without_a_terminal_exits_at_once_with_exit_2(tmp_path: Path) -> None:
    """``ssh host cmd`` / ``ssh -T`` / scp / sftp: input and output are pipes."""
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "onenet_tui"],
        input=b"",
        capture_output=True,
        env=console_env(tmp_path),
        timeout=BOUND,
    )
    assert done.returncode == 2
    assert done.stderr.decode().strip() == "onenet-tui: the console needs a terminal: use ssh -t"
    assert done.stdout == b""
    assert time.monotonic() - started < 10
    assert not (tmp_path / "onenet.db").exists()  # the database was never opened


def test_console_with_a_terminal_on_input_only_exits_too(tmp_path: Path) -> None:
    master, slave = os.openpty()
    try:
        done = subprocess.run(
            [sys.executable, "-m", "onenet_tui"],
            stdin=slave,
            capture_output=True,
            env=console_env(tmp_path, ONENET_LANG="de"),
            timeout=BOUND,
        )
    finally:
        os.close(slave)
        os.close(master)
    assert done.returncode == 2
    assert "die Konsole braucht ein Terminal: ssh -t verwenden" in done.stderr.decode()


def test_console_ends_when_its_terminal_hangs_up(tmp_path: Path, terminals: list[Terminal]) -> None:
    """The link drops: the terminal's input ends, and so does the console
    (before, it went on polling the dead input at 20-55 % CPU)."""
    terminal = Terminal.start([sys.executable, "-m", "onenet_tui", "--operator", "jdoe"], console_env(tmp_path))
    terminals.append(terminal)
    assert terminal.read_until(b"jdoe"), terminal.text()[-2000:]
    os.close(terminal.master)
    started = time.monotonic()
    try:
        code = terminal.process.wait(10)
    except subprocess.TimeoutExpired:
        code = None
    assert code is not None, "the console kept running after its input ended"
    assert time.monotonic() - started < 10


# --- crashes ---------------------------------------------------------------------------------------

BROKEN_CONSOLE = textwrap.dedent(
    """
    import sys
    from onenet_tui.screens.directory import DirectoryScreen

    def broken(self):
        customer_password = "Zaun-2026-geheim"
        raise ZeroDivisionError("the directory broke")

    DirectoryScreen.on_mount = broken
    from onenet_tui.cli import main

    sys.exit(main())
    """
)


def run_broken_console(tmp_path: Path, terminals: list[Terminal], **env: str) -> tuple[int | None, str]:
    script = tmp_path / "broken.py"
    script.write_text(BROKEN_CONSOLE)
    terminal = Terminal.start([sys.executable, str(script)], console_env(tmp_path, **env))
    terminals.append(terminal)
    return terminal.wait(), terminal.text()


def test_crash_prints_one_line_naming_the_error_and_the_log_and_exits_1(
    tmp_path: Path, terminals: list[Terminal]
) -> None:
    code, shown = run_broken_console(tmp_path, terminals)
    log = tmp_path / "state" / "onenet-tui" / "crash.log"
    assert code == 1
    # After the terminal is restored: one line, no traceback, no local variables.
    after = shown.rsplit("\x1b[?1006l", 1)[-1].strip()
    assert after == (
        f"onenet-tui: unexpected error: ZeroDivisionError: the directory broke; "
        f"the details are in {log} (ONENET_DEBUG=1 prints them here)"
    )
    assert "Traceback" not in shown and "Zaun-2026-geheim" not in shown
    assert (log.stat().st_mode & 0o777) == 0o600
    logged = log.read_text()
    assert "Traceback (most recent call last)" in logged and "ZeroDivisionError: the directory broke" in logged
    assert "Zaun-2026-geheim" not in logged  # the traceback has no local variables


def test_crash_with_onenet_debug_prints_the_traceback_without_locals(tmp_path: Path, terminals: list[Terminal]) -> None:
    code, shown = run_broken_console(tmp_path, terminals, ONENET_DEBUG="1")
    assert code == 1
    assert "Traceback (most recent call last)" in shown and "in broken" in shown
    assert "Zaun-2026-geheim" not in shown
    assert len(shown.rsplit("\x1b[?1006l", 1)[-1].splitlines()) < 60


# --- the shipped recipe under a real sshd ----------------------------------------------------------

SSHD = Path("/usr/sbin/sshd")
DEPLOY = ROOT / "deploy" / "ssh"
INSTALLED_CONSOLE = "/opt/onenet/.venv/bin/onenet-tui"
SHIPPED_KEYS_FILE = "/etc/ssh/onenet/authorized_keys"
SHIPPED_KEY = "ssh-ed25519 AAAA... jdoe@laptop"


def free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=BOUND, check=False)


@dataclass
class Server:
    """sshd on the loopback with the shipped recipe, a throwaway service user and a client key."""

    user: str
    home: Path
    port: int
    key: Path
    process: subprocess.Popen[bytes]

    def ssh(self, *options: str) -> list[str]:
        return [
            "ssh",
            "-F",
            "/dev/null",
            "-i",
            str(self.key),
            "-p",
            str(self.port),
            "-o",
            "BatchMode=yes",
            "-o",
            "IdentitiesOnly=yes",
            "-o",
            "StrictHostKeyChecking=no",
            "-o",
            "UserKnownHostsFile=/dev/null",
            *options,
            f"{self.user}@127.0.0.1",
        ]


def add_service_user(name: str, home: Path) -> None:
    """An unprivileged account; where the interpreter is readable by root
    only (a Python under /root), an account sharing root's uid instead, so
    the test still runs the real sshd and the shipped recipe."""
    shell = ["useradd", "-M", "-d", str(home), "-s", "/bin/sh", "-p", "*"]
    created = run(*shell, name)
    assert created.returncode == 0, created.stderr
    usable = run("runuser", "-u", name, "--", sys.executable, "-c", "import textual")
    if usable.returncode != 0:
        run("userdel", "-f", name)
        created = run(*shell, "-o", "-u", "0", "-g", "0", name)
        assert created.returncode == 0, created.stderr


def seed_database(url: str) -> None:
    """A tenant with one failed user (whose name holds shell syntax) and jdoe made an administrator."""
    from onenet_tui.data.storage import Store

    store = Store(url)
    try:
        failed_user(build_world(store))
    finally:
        store.dispose()


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    if os.geteuid() != 0:
        pytest.skip("a real sshd with a throwaway service user needs root (CI runs as root)")
    if not SSHD.exists() or not Path("/usr/bin/ssh").exists():
        missing = "OpenSSH is not installed (.ci/run installs openssh-server and openssh-client)"
        if IN_CI:
            pytest.fail(missing)
        pytest.skip(missing)
    import shutil
    import tempfile

    # sshd (StrictModes) and the service user must be able to walk to the
    # files: not under pytest's root-only tmp_path, nor a world-writable /tmp.
    base = Path(tempfile.mkdtemp(prefix="onenet-ssh-", dir="/run" if os.access("/run", os.W_OK) else None))
    base.chmod(0o755)
    user = f"onenet-{os.urandom(4).hex()}"
    home = base / "home"
    home.mkdir(mode=0o700)
    process: subprocess.Popen[bytes] | None = None
    try:
        add_service_user(user, home)
        port = free_port()
        assert run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(base / "host_key")).returncode == 0
        client = tmp_path / "client_key"
        assert run("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(client)).returncode == 0
        # The console as installed: a launcher standing in for /opt/onenet/.venv/bin/onenet-tui.
        launcher = base / "onenet-tui"
        launcher.write_text(f'#!/bin/sh\nPYTHONPATH={ROOT} exec {sys.executable} -m onenet_tui "$@"\n')
        launcher.chmod(0o755)
        keys_dir = base / "keys"
        keys_dir.mkdir(mode=0o755)
        line = (DEPLOY / "authorized_keys").read_text()
        assert INSTALLED_CONSOLE in line and SHIPPED_KEY in line
        public = (client.with_suffix(".pub")).read_text().strip()
        (keys_dir / "authorized_keys").write_text(
            line.replace(INSTALLED_CONSOLE, str(launcher)).replace(SHIPPED_KEY, public)
        )
        (keys_dir / "authorized_keys").chmod(0o644)
        recipe = (DEPLOY / "sshd_config").read_text()
        assert "Match User onenet\n" in recipe and SHIPPED_KEYS_FILE in recipe
        recipe = recipe.replace("Match User onenet\n", f"Match User {user}\n")
        recipe = recipe.replace(SHIPPED_KEYS_FILE, str(keys_dir / "authorized_keys"))
        config = base / "sshd_config"
        config.write_text(
            f"Port {port}\nListenAddress 127.0.0.1\nHostKey {base / 'host_key'}\nPidFile {base / 'sshd.pid'}\n"
            "UsePAM no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nStrictModes yes\n"
            f"PermitRootLogin prohibit-password\nAllowUsers {user}\nLogLevel VERBOSE\n\n{recipe}"
        )
        # The account's config file (0600) holds the database URL: never the command line.
        database = home / ".local" / "share" / "onenet-tui" / "onenet.db"
        database.parent.mkdir(parents=True)
        url = f"sqlite:///{database}"
        seed_database(url)
        settings = home / ".config" / "onenet-tui" / "config.toml"
        settings.parent.mkdir(parents=True)
        settings.write_text(f'db_url = "{url}"\n')
        settings.chmod(0o600)
        # As the README says: an administrator makes the fixed operator an administrator.
        made = run(str(launcher), "--db", url, "--operator", "alice", "operators", "add", "jdoe", "--role", "admin")
        assert made.returncode == 0, made.stderr
        (home / ".ssh").mkdir(mode=0o700)
        run("chown", "-R", f"{user}:", str(home))
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)  # sshd's privilege separation directory
        checked = run(str(SSHD), "-t", "-f", str(config))
        assert checked.returncode == 0, checked.stderr
        process = subprocess.Popen(
            [str(SSHD), "-D", "-e", "-f", str(config)],
            stdout=subprocess.DEVNULL,
            stderr=open(base / "sshd.log", "wb"),  # noqa: SIM115 - closed with the process
            start_new_session=True,
        )
        deadline = time.monotonic() + BOUND
        import socket

        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert process.poll() is None, (base / "sshd.log").read_text()
            time.sleep(0.1)
        yield Server(user, home, port, client, process)
    finally:
        if process is not None and process.poll() is None:
            os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(5)
        # -f: an account sharing root's uid always has processes running.
        run("userdel", "-f", user)
        shutil.rmtree(base, ignore_errors=True)


def test_ssh_recipe_opens_the_console_as_the_fixed_operator_refuses_rc_and_q_ends_it(
    server: Server, terminals: list[Terminal]
) -> None:
    terminal = Terminal.start([*server.ssh("-tt")], console_env(server.home))
    terminals.append(terminal)
    assert terminal.read_until("jdoe · Administrator".encode()), terminal.text()[-3000:]
    assert terminal.read_until(b"Fehler"), terminal.text()[-3000:]
    time.sleep(1.0)  # let the directory settle before keys arrive
    terminal.send(b"\r")  # the failed user's detail
    assert terminal.read_until(b"porting not finished"), terminal.text()[-3000:]
    time.sleep(0.5)
    terminal.screen.clear()
    terminal.send(b"s")  # save the support summary
    assert terminal.read_until(b"export directory"), terminal.text()[-3000:]
    for typed in (b"../.ssh/rc", b"~/.ssh/rc"):
        terminal.screen.clear()
        terminal.type(b"\x15", *(bytes([c]) for c in typed), b"\r")  # ctrl+u, the path, enter
        assert terminal.read_until(b"export_dir: "), terminal.text()[-3000:]
    time.sleep(0.5)
    assert not (server.home / ".ssh" / "rc").exists()
    for key, then in ((b"\x1b", b"Back"), (b"\x1b", b"Fehler")):  # the prompt, then the detail
        terminal.screen.clear()
        terminal.type(key)
        assert terminal.read_until(then), terminal.text()[-3000:]
        time.sleep(0.5)
    terminal.type(b"q")
    code = terminal.wait(BOUND)
    assert code == 0, terminal.text()[-3000:]
    assert not (server.home / ".ssh" / "rc").exists()


def test_ssh_recipe_refuses_port_forwarding(server: Server) -> None:
    import socket

    local = free_port()
    client = subprocess.Popen(
        server.ssh("-N", "-L", f"{local}:127.0.0.1:{server.port}"),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + BOUND
        answered = b""
        while time.monotonic() < deadline:
            with socket.socket() as tunnel:
                if tunnel.connect_ex(("127.0.0.1", local)) != 0:
                    time.sleep(0.1)
                    continue
                tunnel.settimeout(BOUND)
                # Through an open tunnel sshd itself would greet: "SSH-2.0-...".
                answered = tunnel.recv(100)
                break
        else:
            pytest.fail("ssh -N -L never listened")
        assert not answered.startswith(b"SSH-"), answered
    finally:
        os.killpg(client.pid, signal.SIGTERM)
        try:
            _, err = client.communicate(timeout=BOUND)
        except subprocess.TimeoutExpired:
            # A loaded machine: what ssh said is already in the pipe.
            os.killpg(client.pid, signal.SIGKILL)
            _, err = client.communicate(timeout=BOUND)
    assert b"administratively prohibited" in err or b"open failed" in err, err
