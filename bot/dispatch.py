"""Routing text to handlers: command tables, hooks, the free-text fallback, and error rendering.

Handlers are registered explicitly into :class:`CommandTable` objects (one per handlers module)
and never see platform payloads: only :class:`~bot.model.IncomingMessage` and a :class:`Context`.
A table also records its guided dialogs and the report kinds its module owns; the dispatcher merges
them from the tables it is given, so what a handler finds through ``ctx.dispatcher`` is exactly what
those tables registered, whichever modules happen to be imported.
"""

from __future__ import annotations

import re
import time
import unicodedata
import uuid
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import structlog
from rapidfuzz.distance import Levenshtein

from bot.directory import RoleCache, StaffCache
from bot.errors import ServiceUnavailable, UserFacingError
from bot.model import IncomingMessage, OutgoingMessage, Reply
from bot.permissions import ANYONE, Permission
from bot.store.engine import is_unavailable
from bot.store.tables import Staff

if TYPE_CHECKING:
    from sqlmodel.ext.asyncio.session import AsyncSession

    from bot.services import Services

log = structlog.get_logger("exambot.dispatch")

CommandFunc = Callable[["Context", str], Awaitable["Reply | str | None"]]
HookFunc = Callable[["Context"], Awaitable["Reply | str | None"]]

_SLASHES = ("/", "、")  # "、" is what the "/" key types in many Chinese IMEs
_SPACES = re.compile(r"\s+")
# ``ctx.state`` key: a command name typed without its slash and followed by arguments (token, arguments).
UNSLASHED = "unslashed"
_LOOKS_LIKE_ARGS = re.compile(r"\d|[一二三四五六七八九十两]+号|^无$")  # a number (room, ticket, seat, count) or “none”

GENERIC_ERROR = "系统出了点问题，没能处理这条消息（错误编号 {rid}）。请稍后重试，或联系考务办公室。"


def normalize(text: str) -> str:
    """NFKC (full-width letters, digits, ／ and spaces become ASCII), trimmed, spaces collapsed."""
    return _SPACES.sub(" ", unicodedata.normalize("NFKC", text)).strip()


@dataclass(frozen=True)
class Command:
    """A registered chat command."""

    names: tuple[str, ...]
    func: CommandFunc
    summary: str
    usage: str
    permission: Permission
    hidden: bool = False
    unslashed: bool = False  # a private message that is just its Chinese name (or name and arguments) means it

    @property
    def name(self) -> str:
        """The primary (first) name."""
        return self.names[0]


@dataclass(frozen=True)
class Hook:
    """A handler that may claim any message before command lookup (dialogs, acknowledgements)."""

    func: HookFunc
    priority: int
    name: str


class Dialog(Protocol):
    """What the dispatcher needs of a guided dialog (the handlers define the rest): its command's name."""

    @property
    def command(self) -> str:
        """The command (primary name, no slash) the dialog asks the arguments of."""
        ...


D = TypeVar("D", bound=Dialog)
R = TypeVar("R")


class CommandTable:
    """Commands, hooks, fallbacks, dialogs and report kinds of one handlers module; registering only records."""

    def __init__(self) -> None:
        self.commands: list[Command] = []
        self.hooks: list[Hook] = []
        self.fallbacks: list[Hook] = []
        self.dialogs: dict[str, Dialog] = {}
        # Report kind -> the owning module's rules for it (opaque here: read by the handlers).
        self.report_kinds: dict[str, Any] = {}

    def command(
        self,
        *names: str,
        summary: str,
        usage: str = "",
        permission: Permission = ANYONE,
        hidden: bool = False,
        unslashed: bool = False,
    ) -> Callable[[CommandFunc], CommandFunc]:
        """Register ``func`` under ``names`` (without the slash; Chinese and English)."""
        if not names:
            raise ValueError("a command needs at least one name")
        for n in names:
            if not n or n != normalize(n) or " " in n or n.startswith("/"):
                raise ValueError(f"bad command name {n!r}")

        def deco(func: CommandFunc) -> CommandFunc:
            cmd = Command(tuple(names), func, summary, usage or f"/{names[0]}", permission, hidden, unslashed)
            self.commands.append(cmd)
            return func

        return deco

    def hook(self, priority: int = 0) -> Callable[[HookFunc], HookFunc]:
        """Register a hook; lower ``priority`` runs first. A hook returning None passes."""

        def deco(func: HookFunc) -> HookFunc:
            self.hooks.append(Hook(func, priority, func.__name__))
            return func

        return deco

    def fallback(self, priority: int = 0) -> Callable[[HookFunc], HookFunc]:
        """Register a handler for text that is not a command (the knowledge base)."""

        def deco(func: HookFunc) -> HookFunc:
            self.fallbacks.append(Hook(func, priority, func.__name__))
            return func

        return deco

    def dialog(self, spec: D) -> D:
        """Register the guided dialog of ``spec.command`` (asked when the command comes without arguments)."""
        if spec.command in self.dialogs:
            raise ValueError(f"dialog of /{spec.command} registered twice")
        self.dialogs[spec.command] = spec
        return spec

    def report_kind(self, kind: str, rules: R) -> R:
        """Register the rules of report kind ``kind`` (how /更正 rebuilds and describes it)."""
        if kind in self.report_kinds:
            raise ValueError(f"report kind {kind!r} registered twice")
        self.report_kinds[kind] = rules
        return rules


@dataclass(frozen=True)
class Backfill:
    """A late entry (补录) by the office or a supervisor: the past day, session and room the command is about.

    Set by ``/补录`` around the report command it runs; the handlers resolve the room within it instead of
    among the rooms of now, and mark what they write as 补录.
    """

    day: date
    session_id: int | None = None
    room: int | None = None  # the room number named in /补录 (the command's own number is used otherwise)


@dataclass
class Context:
    """What a handler gets besides its arguments."""

    message: IncomingMessage
    staff: Staff | None
    services: Services
    request_id: str
    dispatcher: Dispatcher
    command: Command | None = None
    state: dict[str, Any] = field(default_factory=dict)
    # Lines a hook wants in front of whatever answers this message (or alone, when nothing does).
    notices: list[str] = field(default_factory=list)
    # Inside a platform callback: alerts are persisted before the handler goes on, sent after the answer.
    defer_notices: bool = False
    # Keys of messages the handler wrote in its transactions (``enqueue``): sent after it returns.
    outbox_keys: list[str] = field(default_factory=list)
    # Inside /补录: the past session the report command is about (None: the rooms of now).
    backfill: Backfill | None = None

    @property
    def now(self) -> datetime:
        """Current time from the app clock (aware, UTC)."""
        return self.services.clock.now()

    def visible_commands(self) -> list[Command]:
        """Commands this sender may use, in registration order."""
        return [c for c in self.dispatcher.commands if not c.hidden and c.permission(self)]

    async def notify(self, messages: Sequence[OutgoingMessage]) -> None:
        """Send messages on the bot's own initiative (alerts to the office, to groups)."""
        await self.services.notifier.notify(messages, defer=self.defer_notices)

    async def enqueue(self, session: AsyncSession, messages: Sequence[OutgoingMessage]) -> None:
        """Write messages in the caller's transaction (a transactional outbox): they commit with what caused them
        and are sent once the handler has returned. Each needs a key naming what it is about, so a redelivered
        message or a retry after a crash writes only what is missing and sends nothing twice."""
        if any(not m.key for m in messages):
            raise ValueError("a message written with a report needs a key")
        await self.services.notifier.enqueue(session, messages, self.now)
        self.outbox_keys.extend(m.key for m in messages if m.key)


class Dispatcher:
    """Routes an incoming message to exactly one handler and returns its reply."""

    def __init__(self, services: Services, tables: Iterable[CommandTable]) -> None:
        self.services = services
        self.staff_cache = StaffCache()
        self.role_cache = RoleCache()
        self.commands: list[Command] = []
        self._by_name: dict[str, Command] = {}
        self.dialogs: dict[str, Dialog] = {}
        self.report_kinds: dict[str, Any] = {}
        hooks: list[Hook] = []
        fallbacks: list[Hook] = []
        for table in tables:
            for cmd in table.commands:
                for n in cmd.names:
                    key = n.lower()
                    if key in self._by_name:
                        raise ValueError(f"command name /{n} registered twice")
                    self._by_name[key] = cmd
                self.commands.append(cmd)
            hooks.extend(table.hooks)
            fallbacks.extend(table.fallbacks)
            for command, spec in table.dialogs.items():
                if command in self.dialogs:
                    raise ValueError(f"dialog of /{command} registered twice")
                self.dialogs[command] = spec
            for kind, rules in table.report_kinds.items():
                if kind in self.report_kinds:
                    raise ValueError(f"report kind {kind!r} registered twice")
                self.report_kinds[kind] = rules
        self.hooks = sorted(hooks, key=lambda h: h.priority)
        self.fallbacks = sorted(fallbacks, key=lambda h: h.priority)
        # Longest names first so "/缺考统计" is not read as "/缺考" + "统计".
        self._prefixes = sorted(self._by_name, key=len, reverse=True)

    def parse(self, text: str) -> tuple[str, str] | None:
        """Split ``/name args`` into (typed name, args); None when the text is not a command."""
        t = normalize(text)
        if not t or t[0] not in _SLASHES:
            return None
        body = t[1:].lstrip()
        if not body:
            return ("", "")
        token, _, rest = body.partition(" ")
        return token, rest.strip()

    def lookup(self, token: str, args: str) -> tuple[Command, str] | None:
        """The command for ``token`` (exact, or a CJK name glued to its arguments), with the args."""
        key = token.lower()
        if key in self._by_name:
            return self._by_name[key], args
        for name in self._prefixes:
            if key.startswith(name) and not name.isascii():
                glued = token[len(name) :]
                return self._by_name[name], f"{glued} {args}".strip()
        return None

    def suggest(self, token: str, ctx: Context, limit: int = 3) -> list[Command]:
        """Visible commands a mistyped name was probably meant to be: a small edit away, or a start of the name.

        Nonsense gets nothing: one wrong character in a short name, two in a long one (/缺靠, /帮主,
        /vilation), or the first characters of a name (/帮, /viol); a single Latin letter matches nothing.
        """
        typed = token.lower()
        if not typed or (len(typed) == 1 and typed.isascii()):
            return []
        allowed = _allowed_edits(typed)
        ranked: list[tuple[int, int, Command]] = []
        for order, cmd in enumerate(ctx.visible_commands()):
            best: int | None = None
            for name in cmd.names:
                key = name.lower()
                if key.startswith(typed):
                    dist = 0
                else:
                    dist = Levenshtein.distance(typed, key, score_cutoff=allowed)
                    if dist > allowed:
                        continue
                best = dist if best is None else min(best, dist)
            if best is not None:
                ranked.append((best, order, cmd))
        ranked.sort(key=lambda r: (r[0], r[1]))
        return [cmd for _dist, _order, cmd in ranked[:limit]]

    async def dispatch(self, msg: IncomingMessage, *, defer_notices: bool = False) -> Reply | None:
        """Handle one message; handler errors become a reply.

        ``defer_notices`` (platform callbacks): what handlers notify is persisted at once and sent by a
        background pass, so the platform gets its answer sooner.

        Raises :class:`~bot.errors.ServiceUnavailable` when the database cannot be reached, so the
        adapter answers 503 and the platform delivers the message again later.
        """
        rid = uuid.uuid4().hex[:12]
        metrics = self.services.metrics
        started = time.perf_counter()
        label = "-"
        ctx: Context | None = None
        with structlog.contextvars.bound_contextvars(request_id=rid, platform=msg.channel):
            try:
                staff = await self.staff_cache.lookup(self.services.db, msg.channel, msg.sender_id)
                ctx = Context(msg, staff, self.services, rid, self, defer_notices=defer_notices)
                label, result = await self._route(ctx)
                reply = _as_reply(result)
                if ctx.outbox_keys:
                    await self.services.notifier.send_keys(ctx.outbox_keys, defer=ctx.defer_notices)
            except UserFacingError as exc:
                reply = Reply(exc.render())
            except Exception as exc:
                if is_unavailable(exc):
                    metrics.errors.labels(msg.channel, "unavailable").inc()
                    log.warning("database_unavailable", command=label, error=type(exc).__name__)
                    raise ServiceUnavailable from exc
                log.exception("handler_failed", command=label)
                metrics.errors.labels(msg.channel, "handler").inc()
                reply = Reply(GENERIC_ERROR.format(rid=rid))
            finally:
                metrics.messages_in.labels(msg.channel, label).inc()
                metrics.latency.labels(msg.channel).observe(time.perf_counter() - started)
            if ctx is not None and ctx.notices:
                reply = _with_notices(ctx.notices, reply)
            mask = self.services.group_mask
            if reply is not None and msg.chat_id and mask is not None:  # a group sees no personal data
                reply = replace(reply, text=await mask.mask(reply.text))
            log.info("message_handled", command=label, replied=reply is not None)
            if reply is not None:
                metrics.messages_out.labels(msg.channel, "reply", command=label).inc()
            return reply

    async def _route(self, ctx: Context) -> tuple[str, Reply | str | None]:
        for hook in self.hooks:
            result = await hook.func(ctx)
            if result is not None:
                return f"hook:{hook.name}", result
        parsed = self.parse(ctx.message.text) or self._unslashed(ctx, whole=True)
        if parsed is not None:
            token, args = parsed
            found = self.lookup(token, args)
            if found is None:
                return "unknown", self._unknown(token, ctx)
            cmd, args = found
            ctx.command = cmd
            if not cmd.permission(ctx):
                return cmd.name, _refusal(cmd, ctx)
            return cmd.name, await cmd.func(ctx, args)
        unslashed = self._unslashed(ctx, whole=False)
        if unslashed is not None:
            ctx.state[UNSLASHED] = unslashed  # a fallback may leave it to the slash line (“缺考 2026000003”)
        for fb in self.fallbacks:
            result = await fb.func(ctx)
            if result is not None:
                return f"text:{fb.name}", _slash_hint(ctx, unslashed, result)
        if unslashed is not None:  # in a group, where talk gets no answer: not this
            return "text:slash_hint", Reply(_slash_line(ctx))
        return "text", None

    def _unslashed(self, ctx: Context, *, whole: bool) -> tuple[str, str] | None:
        """A command name typed without its slash, as phones make easy: the whole text (“帮助”, “缺考”), or with
        ``whole`` False its first word followed by what reads as arguments (“缺考 3号”, not “违纪 怎么处理”; never
        run, in a group too: the answer says how to send it).
        Chinese names of the sender's commands registered ``unslashed`` (reports and queries, not 收到 or 答错了)."""
        t = normalize(ctx.message.text)
        token, _, rest = t.partition(" ")
        if not whole and token.lower() not in self._by_name:  # glued, as voice input writes it: 缺考3号座
            name = next((n for n in self._prefixes if token.startswith(n) and not n.isascii()), "")
            token, rest = (name, f"{token[len(name) :]} {rest}".strip()) if name else (token, rest)
        if whole == bool(rest) or (whole and ctx.message.chat_id) or (rest and not _LOOKS_LIKE_ARGS.search(rest)):
            return None  # in a group, “缺考” alone may be talk among staff: it is not run
        cmd = self._by_name.get(token.lower())
        if cmd is None or not cmd.unslashed or token.isascii() or not cmd.permission(ctx):
            return None
        return token, rest.strip()

    def _unknown(self, token: str, ctx: Context) -> Reply:
        if not token:
            return Reply("请在 / 后面写命令名，例如 /帮助。")
        close = self.suggest(token, ctx)
        if close:
            options = "、".join(f"/{c.name}" for c in close)
            return Reply(f"没有“/{token}”这个命令。您是不是要用：{options}？发送 /帮助 查看全部命令。")
        return Reply(f"没有“/{token}”这个命令。发送 /帮助 查看全部命令。")


def _slash_line(ctx: Context) -> str:
    return f"这条没有记录：命令前要加 /，请发：/{normalize(ctx.message.text)}"


def _slash_hint(ctx: Context, unslashed: tuple[str, str] | None, result: Reply | str) -> Reply | str:
    """The answer to “缺考 3号” (a question to the knowledge base) first says that nothing was recorded, and how."""
    if unslashed is None:
        return result
    head = f"{_slash_line(ctx)}\n以下按问题回答：\n"
    if isinstance(result, Reply):
        return replace(result, text=head + result.text)
    return head + result


def _allowed_edits(typed: str) -> int:
    """How many character edits still count as a typo of a command name of about this length."""
    if len(typed) == 1:
        return 0
    if typed.isascii():
        return 1 if len(typed) <= 5 else 2
    return 1 if len(typed) <= 3 else 2


def _refusal(cmd: Command, ctx: Context) -> Reply:
    if ctx.staff is None:
        return Reply("您还不在考务人员名单中，无法使用该命令。请联系考务办公室登记您的账号。")
    return Reply(f"您没有使用 /{cmd.name} 的权限（仅限{cmd.permission.label}）。")


def _with_notices(notices: list[str], reply: Reply | None) -> Reply:
    head = "\n".join(notices)
    return Reply(head) if reply is None else replace(reply, text=f"{head}\n{reply.text}")


def _as_reply(result: Reply | str | None) -> Reply | None:
    if result is None or isinstance(result, Reply):
        return result
    return Reply(result)
