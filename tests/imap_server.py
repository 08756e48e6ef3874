"""A real IMAP (and POP3) server for the tests: Debian's dovecot, started on free ports with a
throwaway user and a configuration file of its own (no root daemon, no system configuration)."""

import imaplib
import os
import shutil
import signal
import subprocess
import tempfile
from pathlib import Path

import pytest
from servers import free_port, wait_until

USER, PASSWORD = "bounces", "imap-test-password"


def find_dovecot() -> str:
    """The dovecot binary; without it, skip the test, or fail it when CI is set."""
    path = shutil.which("dovecot") or shutil.which("dovecot", path="/usr/sbin:/usr/local/sbin")
    if path:
        return path
    message = "dovecot is not installed (apt-get install dovecot-imapd dovecot-pop3d)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


class DovecotServer:
    """dovecot in the foreground on 127.0.0.1, plain IMAP and POP3, one user with a Maildir.

    Its folder is made under the system's temporary directory, not pytest's: as root, dovecot
    gives mail to an unprivileged user (it refuses uid 0), who must be able to reach it.
    """

    def __init__(self, executable: str) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="weeknote-dovecot-"))
        self.folder.chmod(0o755)
        self.imap_port, self.pop3_port = free_port(), free_port()
        home = self.folder / "home"
        home.mkdir()
        if os.getuid() == 0:
            uid = gid = 65534  # nobody
            users = ""
        else:
            uid, gid = os.getuid(), os.getgid()
            name = os.environ.get("USER") or str(uid)
            users = "".join(f"{key} = {name}\n" for key in ("default_login_user", "default_internal_user"))
            users += f"default_internal_group = {name}\n"
        os.chown(home, uid, gid)
        (self.folder / "users").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
        self.config = self.folder / "dovecot.conf"
        self.config.write_text(
            CONFIG.format(
                folder=self.folder, uid=uid, gid=gid, imap=self.imap_port, pop3=self.pop3_port, users=users
            )
        )
        self.log = self.folder / "dovecot.log"
        self.process = subprocess.Popen(
            [executable, "-F", "-c", str(self.config)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        wait_until(self._answers, 20, f"dovecot on port {self.imap_port} (log: {self.log})", interval=0.1)

    def url(self, scheme: str = "imap", folder: str = "INBOX") -> str:
        port = self.imap_port if scheme == "imap" else self.pop3_port
        return f"{scheme}://{USER}:{PASSWORD}@127.0.0.1:{port}/{folder}"

    def _answers(self) -> bool:
        if self.process.poll() is not None:
            log = self.log.read_text() if self.log.exists() else ""
            raise RuntimeError(f"dovecot exited with code {self.process.returncode}:\n{log}")
        try:
            with imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=2) as imap:
                imap.login(USER, PASSWORD)
                return True
        except (OSError, imaplib.IMAP4.error):
            return False

    def client(self) -> imaplib.IMAP4:
        imap = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=10)
        imap.login(USER, PASSWORD)
        return imap

    def append(self, data: bytes, folder: str = "INBOX") -> None:
        """IMAP APPEND, as a mail server delivering into the mailbox would leave it."""
        with self.client() as imap:
            status, detail = imap.append(folder, None, None, data)
            assert status == "OK", detail

    def messages(self, folder: str) -> list[bytes]:
        """The messages in a folder (an empty list when it does not exist)."""
        with self.client() as imap:
            status, _ = imap.select(f'"{folder}"', readonly=True)
            if status != "OK":
                return []
            uids = imap.uid("SEARCH", None, "ALL")[1][0].split()
            found = []
            for uid in uids:
                response = imap.uid("FETCH", uid, "(BODY.PEEK[])")[1]
                found += [item[1] for item in response if isinstance(item, tuple)]
            return found

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        shutil.rmtree(self.folder, ignore_errors=True)


CONFIG = """\
base_dir = {folder}/run
state_dir = {folder}/state
log_path = {folder}/dovecot.log
protocols = imap pop3
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
{users}
passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {folder}/users
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={folder}/home/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service pop3-login {{
  inet_listener pop3 {{
    address = 127.0.0.1
    port = {pop3}
  }}
  inet_listener pop3s {{
    port = 0
  }}
}}
"""
