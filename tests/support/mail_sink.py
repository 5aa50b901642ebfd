"""An SMTP server in its own process, for tests that stop it and start it again: aiosmtpd's
command line (``python -m aiosmtpd``) with a handler that keeps every message it takes in
a maildir, and can drop the connection right after taking the first few (the client
never hears its QUIT answered)."""

from __future__ import annotations

import mailbox
import signal
import sys
from argparse import ArgumentParser
from dataclasses import dataclass, field
from email.message import Message
from pathlib import Path

from aiosmtpd.handlers import Mailbox

from scripts.toolkit.processes import Process, free_port
from tests.support.servers import drop_after_reply


class DroppingMailbox(Mailbox):
    """aiosmtpd's maildir handler that drops the connection after accepting the first
    ``drops`` messages. Command line: ``<maildir> [<drops>]``."""

    def __init__(self, mail_dir: str, drops: int = 0) -> None:
        super().__init__(mail_dir)
        self.drops = drops

    @classmethod
    def from_cli(cls, parser: ArgumentParser, *args: str) -> DroppingMailbox:
        if not 1 <= len(args) <= 2:
            parser.error("arguments: <maildir> [<drops>]")
        return cls(args[0], int(args[1]) if len(args) == 2 else 0)

    async def handle_DATA(self, server, session, envelope) -> str:
        status = await super().handle_DATA(server, session, envelope)
        if self.drops > 0:
            self.drops -= 1
            drop_after_reply(server)
        return status


@dataclass
class MailSink:
    """The server on one port across restarts; what it took stays in ``directory``."""

    directory: Path
    port: int = field(default_factory=free_port)

    def __post_init__(self) -> None:
        self.process = Process(
            "mail-sink", [], None, self.directory.parent / "mail-sink.log", self.port
        )

    def start(self, drop_first: int = 0) -> None:
        """Listen (again); drop the connection after accepting the first ``drop_first``."""
        self.process.command = [
            sys.executable,
            "-m",
            "aiosmtpd",
            "-n",
            "-l",
            f"127.0.0.1:{self.port}",
            "-c",
            f"{__name__}.{DroppingMailbox.__name__}",
            str(self.directory),
            str(drop_first),
        ]
        self.process.start(wait_path=None)

    def stop(self, sig: int = signal.SIGKILL) -> None:
        self.process.stop(sig)

    @property
    def messages(self) -> list[Message]:
        if not self.directory.exists():
            return []
        return list(mailbox.Maildir(self.directory, create=False))

    def to(self, address: str) -> list[Message]:
        return [m for m in self.messages if address in m["X-RcptTo"]]
