"""A small IMAP4rev1 server on loopback for the tests: one mailbox, the commands Resolver's worker uses.

Why our own and not Debian's dovecot-imapd: dovecot is not installed here and would be one more
system package for every test run to fetch; its configuration language changed between Debian 12
(dovecot 2.3) and Debian 13 (2.4), so a temporary config written for one breaks on the other; and
the tests need a server they can make refuse a login or stop answering mid-way, which a few lines
here do and a real server does not. No Python IMAP server library is kept up. This one speaks the
protocol's real wire format (tagged responses, literals, UIDs, implicit TLS and STARTTLS), so the
worker talks to it through the same ``imaplib`` code it uses against Dovecot, Gmail or Exchange.

Understood: CAPABILITY, NOOP, STARTTLS, LOGIN, SELECT/EXAMINE, UID SEARCH (UNSEEN / ALL), UID FETCH with
BODY.PEEK[] / RFC822 / FLAGS, UID STORE +FLAGS / -FLAGS, EXPUNGE, CLOSE, LOGOUT, and APPEND to drop
a message in; ``deliver()`` does the same from Python.
"""
from __future__ import annotations

import asyncio
import re
import ssl
import threading
from dataclasses import dataclass, field


@dataclass
class StoredMessage:
    uid: int
    raw: bytes
    flags: set[str] = field(default_factory=set)


class Mailbox:
    """The one folder's messages, shared by every connection (a lock: several workers talk at once)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.messages: list[StoredMessage] = []
        self.next_uid = 1
        self.uid_validity = 1

    def deliver(self, raw: bytes, flags=()) -> int:
        with self.lock:
            uid = self.next_uid
            self.next_uid += 1
            self.messages.append(StoredMessage(uid, raw, set(flags)))
            return uid

    def flags_of(self, uid: int) -> set[str]:
        with self.lock:
            return next(set(m.flags) for m in self.messages if m.uid == uid)


_COMMAND = re.compile(rb"^(\S+) (\S+)(?: (.*))?$", re.DOTALL)
_LITERAL = re.compile(rb"\{(\d+)\}$")


class ImapServer:
    """``ImapServer(user, password)``; ``start()`` listens on 127.0.0.1 in a thread of its own.

    ``refuse_login`` makes every LOGIN fail; ``hang`` makes the server accept connections and never
    answer (a server that died half-way); ``stop()`` and ``start()`` take it down and up on its port.
    """

    def __init__(self, user: str = "resolver@example.test", password: str = "imap-secret", folder: str = "INBOX",
                 *, tls: ssl.SSLContext | None = None, starttls: ssl.SSLContext | None = None):
        self.user, self.password, self.folder = user, password, folder
        self.tls, self.starttls = tls, starttls  # TLS from the first byte (port 993), or after STARTTLS
        self.mailbox = Mailbox()
        self.refuse_login = False
        self.hang = False
        self.port = 0
        self.logins = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server = None
        self._thread: threading.Thread | None = None

    def deliver(self, raw: bytes) -> int:
        return self.mailbox.deliver(raw)

    # Running ---------------------------------------------------------------------------------

    def start(self) -> None:
        self._loop = asyncio.new_event_loop()
        started = threading.Event()

        async def listen():
            self._server = await asyncio.start_server(self._serve, "127.0.0.1", self.port, ssl=self.tls)
            self.port = self._server.sockets[0].getsockname()[1]
            started.set()

        self._thread = threading.Thread(target=self._loop.run_forever, name="test-imap", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(listen(), self._loop).result(timeout=10)
        started.wait(timeout=10)

    def stop(self) -> None:
        async def close():
            self._server.close()
            for task in asyncio.all_tasks():
                if task is not asyncio.current_task():
                    task.cancel()

        asyncio.run_coroutine_threadsafe(close(), self._loop).result(timeout=10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=10)
        self._loop.close()

    # One connection ----------------------------------------------------------------------------

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = _Session(self, writer)
        try:
            if self.hang:
                await asyncio.sleep(3600)
            await session.send(b"* OK [" + session.capabilities + b"] Resolver test IMAP ready")
            while not session.is_done:
                line = await self._read_command(reader, writer)
                if line is None:
                    break
                await session.handle(line)
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _read_command(reader, writer) -> bytes | None:
        """One command line, with any literal ``{n}`` folded in as its bytes (quoted, for APPEND)."""
        line = await reader.readline()
        if not line:
            return None
        line = line.rstrip(b"\r\n")
        literal = _LITERAL.search(line)
        if literal:
            writer.write(b"+ Ready for literal data\r\n")
            await writer.drain()
            data = await reader.readexactly(int(literal.group(1)))
            rest = (await reader.readline()).rstrip(b"\r\n")
            return line[:literal.start()] + b"\x00LITERAL\x00" + data + b"\x00END\x00" + rest
        return line


class _Session:
    def __init__(self, server: ImapServer, writer: asyncio.StreamWriter):
        self.server, self.writer = server, writer
        self.is_authenticated = False
        self.is_selected = False
        self.is_done = False
        self.is_encrypted = server.tls is not None

    @property
    def mailbox(self) -> Mailbox:
        return self.server.mailbox

    async def send(self, *lines: bytes) -> None:
        for line in lines:
            self.writer.write(line + b"\r\n")
        await self.writer.drain()

    async def handle(self, line: bytes) -> None:
        match = _COMMAND.match(line)
        if not match:
            await self.send(b"* BAD Unreadable command")
            return
        tag, command, arguments = match.group(1), match.group(2).upper(), match.group(3) or b""
        if command == b"UID":
            sub, _, arguments = arguments.partition(b" ")
            command = b"UID " + sub.upper()
        handler = _HANDLERS.get(command)
        if handler is None:
            await self.send(tag + b" BAD Unknown command " + command)
            return
        if command not in {b"CAPABILITY", b"NOOP", b"STARTTLS", b"LOGIN", b"LOGOUT"} and not self.is_authenticated:
            await self.send(tag + b" NO Log in first")
            return
        await handler(self, tag, arguments)

    # Commands --------------------------------------------------------------------------------

    @property
    def capabilities(self) -> bytes:
        offered = b" STARTTLS" if self.server.starttls and not self.is_encrypted else b""
        return b"CAPABILITY IMAP4rev1 UIDPLUS" + offered

    async def capability(self, tag, _arguments):
        await self.send(b"* " + self.capabilities, tag + b" OK CAPABILITY completed")

    async def starttls(self, tag, _arguments):
        if not self.server.starttls or self.is_encrypted:
            await self.send(tag + b" BAD STARTTLS not offered")
            return
        await self.send(tag + b" OK Begin TLS negotiation now")
        await self.writer.start_tls(self.server.starttls)
        self.is_encrypted = True

    async def noop(self, tag, _arguments):
        await self.send(tag + b" OK NOOP completed")

    async def login(self, tag, arguments):
        user, password = (_unquote(word) for word in _words(arguments)[:2])
        if self.server.refuse_login or (user, password) != (self.server.user, self.server.password):
            await self.send(tag + b" NO [AUTHENTICATIONFAILED] Invalid credentials")
            return
        self.server.logins += 1
        self.is_authenticated = True
        await self.send(tag + b" OK LOGIN completed")

    async def select(self, tag, arguments):
        if _unquote(_words(arguments)[0]).upper() != self.server.folder.upper():
            await self.send(tag + b" NO [NONEXISTENT] No such folder")
            return
        with self.mailbox.lock:
            count, next_uid = len(self.mailbox.messages), self.mailbox.next_uid
        self.is_selected = True
        await self.send(
            b"* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft)",
            b"* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft \\*)] Flags permitted",
            b"* %d EXISTS" % count, b"* 0 RECENT",
            b"* OK [UIDVALIDITY %d] UIDs valid" % self.mailbox.uid_validity,
            b"* OK [UIDNEXT %d] Predicted next UID" % next_uid,
            tag + b" OK [READ-WRITE] SELECT completed",
        )

    async def uid_search(self, tag, arguments):
        criteria = arguments.upper().split()
        with self.mailbox.lock:
            found = [m.uid for m in self.mailbox.messages
                     if not ({b"UNSEEN"} <= set(criteria) and "\\Seen" in m.flags)]
        await self.send(b" ".join([b"* SEARCH", *(b"%d" % uid for uid in found)]), tag + b" OK SEARCH completed")

    async def uid_fetch(self, tag, arguments):
        uid_set, _, items = arguments.partition(b" ")
        items = items.upper()
        wanted = _uids(uid_set)
        lines = []
        with self.mailbox.lock:
            for number, message in enumerate(self.mailbox.messages, start=1):
                if not wanted(message.uid):
                    continue
                parts = [b"UID %d" % message.uid]
                if b"FLAGS" in items:
                    parts.append(b"FLAGS (" + " ".join(sorted(message.flags)).encode() + b")")
                if b"BODY.PEEK[]" in items or b"RFC822" in items or b"BODY[]" in items:
                    name = b"RFC822" if b"RFC822" in items else b"BODY[]"
                    parts.append(name + b" {%d}\r\n" % len(message.raw) + message.raw)
                    if b"PEEK" not in items:
                        message.flags.add("\\Seen")
                lines.append(b"* %d FETCH (" % number + b" ".join(parts) + b")")
        await self.send(*lines, tag + b" OK FETCH completed")

    async def uid_store(self, tag, arguments):
        uid_set, operation, flags = arguments.split(b" ", 2)
        names = {name.decode() for name in flags.strip(b"()").split()}
        wanted = _uids(uid_set)
        lines = []
        with self.mailbox.lock:
            for number, message in enumerate(self.mailbox.messages, start=1):
                if wanted(message.uid):
                    if operation.upper().startswith(b"+FLAGS"):
                        message.flags |= names
                    elif operation.upper().startswith(b"-FLAGS"):
                        message.flags -= names
                    if b"SILENT" not in operation.upper():
                        lines.append(b"* %d FETCH (UID %d FLAGS (%s))"
                                     % (number, message.uid, " ".join(sorted(message.flags)).encode()))
        await self.send(*lines, tag + b" OK STORE completed")

    async def expunge(self, tag, _arguments):
        with self.mailbox.lock:
            gone = [n for n, m in enumerate(self.mailbox.messages, start=1) if "\\Deleted" in m.flags]
            self.mailbox.messages = [m for m in self.mailbox.messages if "\\Deleted" not in m.flags]
        await self.send(*(b"* %d EXPUNGE" % n for n in reversed(gone)), tag + b" OK EXPUNGE completed")

    async def append(self, tag, arguments):
        head, _, rest = arguments.partition(b"\x00LITERAL\x00")
        raw = rest.partition(b"\x00END\x00")[0]
        flags = re.search(rb"\(([^)]*)\)", head)
        uid = self.mailbox.deliver(raw, {f.decode() for f in flags.group(1).split()} if flags else ())
        await self.send(tag + b" OK [APPENDUID %d %d] APPEND completed" % (self.mailbox.uid_validity, uid))

    async def close(self, tag, _arguments):
        self.is_selected = False
        await self.send(tag + b" OK CLOSE completed")

    async def logout(self, tag, _arguments):
        self.is_done = True
        await self.send(b"* BYE Logging out", tag + b" OK LOGOUT completed")


_HANDLERS = {
    b"CAPABILITY": _Session.capability, b"STARTTLS": _Session.starttls, b"NOOP": _Session.noop,
    b"LOGIN": _Session.login,
    b"SELECT": _Session.select, b"EXAMINE": _Session.select, b"UID SEARCH": _Session.uid_search,
    b"UID FETCH": _Session.uid_fetch, b"UID STORE": _Session.uid_store, b"EXPUNGE": _Session.expunge,
    b"APPEND": _Session.append, b"CLOSE": _Session.close, b"LOGOUT": _Session.logout,
}


def _words(arguments: bytes) -> list[bytes]:
    return re.findall(rb'"(?:[^"\\]|\\.)*"|\S+', arguments)


def _unquote(word: bytes) -> str:
    if word.startswith(b'"') and word.endswith(b'"'):
        word = re.sub(rb"\\(.)", rb"\1", word[1:-1])
    return word.decode()


def _uids(uid_set: bytes):
    """``4``, ``1:3,7``, ``5:*`` as a test of a UID (``*`` is open-ended)."""
    ranges = []
    for piece in uid_set.split(b","):
        low, _, high = piece.partition(b":")
        ranges.append((int(low), float("inf") if high == b"*" else int(high or low)))
    return lambda uid: any(low <= uid <= high for low, high in ranges)
