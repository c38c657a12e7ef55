"""WeCom 智能机器人 (AI bot) over its long connection: group chats and people, cards with buttons, taps.

No public URL and no encryption: the bot connects out to ``wss://openws.work.weixin.qq.com`` (overridable,
``EXAMBOT_WECOM_BOT_WS_URL``), subscribes with its Bot ID and Secret, pings every 30 s and reconnects with a
capped, jittered exponential backoff (:mod:`bot.adapters._wecom_aibot_ws`). The protocol is the one the official
``wecom-aibot-python-sdk`` 1.0.2 speaks (``aibot/types.py`` ``WsCmd``, ``aibot/ws.py``, ``aibot/client.py``);
we speak it with aiohttp's WebSocket client instead of depending on the SDK (see deploy/README.md).

In: ``aibot_msg_callback`` (a text in a private chat, or an @-mention in a group: ``body.msgid``, ``chatid``,
``chattype``, ``from.userid``, ``text.content``) and ``aibot_event_callback`` (``event.eventtype``; a tap on a
card is ``template_card_event`` with ``task_id`` and ``event_key``). Each goes through the same
:class:`~bot.adapters._flow.InboundFlow` as the HTTP adapters: claimed by msgid in the ledger (a tap by
``card:<task_id>:<userid>:<event_key>``, so a second tap or a redelivery counts once), the sender looked up by
their WeCom userid, dispatched, and the :class:`~bot.model.Reply` sent back: a message is answered with
``aibot_respond_msg`` on its req_id (a finished stream); should that fail, the reply goes through the outbox.

A tap means exactly what a typed 收到 means (:func:`bot.adapters._cards.tap_text`). When the step is
acknowledged, the tapper's card is replaced (``aibot_respond_update_msg`` on the event's req_id, within WeCom's
5 s) by the same card whose only button reads “已收到 08:03”; the answer (or a refusal: “只有主监考…”) goes to
the tapper privately through the outbox (a card event's req_id takes nothing but the update).

Out (:meth:`WeComAiBotAdapter.send`, called by the outbox): ``aibot_send_msg`` with ``chatid`` = the person's
userid or the group's chat id; text as markdown, a CARD message as a ``button_interaction`` template card (task
id ``r<room>-<step>-<random>``, as the self-built app's). A group can be pushed to only after it has @-mentioned
the bot once: chats are recorded then (:mod:`bot.adapters._wecom_aibot_store`), and a push to another group fails
at once. A room reaches its group through this channel when its 群聊 is ``wecom_aibot:<chatid>``.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from typing import Any

import aiohttp
import structlog

from bot.adapters import _wecom_aibot_proto as proto
from bot.adapters import _wecom_aibot_store as store
from bot.adapters._cards import button_label, tap_text
from bot.adapters._files import link_text
from bot.adapters._flow import InboundFlow, Late, Outcome
from bot.adapters._text import incoming_message
from bot.adapters._wecom_aibot_ws import AiBotSocket, Backoff, Sleep
from bot.adapters._wecom_cards import new_task_id, task_of, template_card
from bot.adapters.base import Adapter, Capabilities
from bot.clock import Clock
from bot.errors import PlatformAuthError, PlatformError, RateLimited
from bot.model import Card, GroupTarget, IncomingMessage, OutgoingMessage, PersonTarget, Reply, TextFormat, card_of
from bot.store.engine import Database
from bot.tasks import Tasks

CHANNEL = "wecom_aibot"
TEXT_LIMIT = 4000  # bytes of one markdown message (WeCom allows more; replies stay readable on a phone)
HELP_TEXT = "/帮助"  # what opening the private chat is handled as: the help text greets the person
UNSUPPORTED = "目前只能处理文字消息，请直接输入文字或发送 /帮助 查看可用命令。"
NOT_RECORDED = "企业微信智能机器人：群 {chat} 还没有 @ 过机器人，无法推送（请在群里 @机器人 发一条消息）"
DONE_KEY = "done"  # the key of the one button a tapped card shows (a tap on it means nothing)

log = structlog.get_logger("exambot.wecom_aibot")


@dataclass(frozen=True)
class WeComAiBotConfig:
    """The bot's credentials and the long connection's address (validated by the registry)."""

    bot_id: str
    secret: str
    ws_url: str = proto.DEFAULT_URL
    heartbeat: float = 30.0

    def __repr__(self) -> str:
        return f"WeComAiBotConfig(bot_id={self.bot_id!r}, ws_url={self.ws_url!r})"


async def _nowhere(msg: IncomingMessage, reply: Reply) -> None:
    """A welcome that missed WeCom's 5 s is not sent at all (the person sees the help on their first message)."""


class WeComAiBotAdapter(Adapter):
    """The WeCom AI bot channel (long connection)."""

    name = CHANNEL
    capabilities = Capabilities(markdown=True, mentions=False, max_text_bytes=TEXT_LIMIT, files=False, cards=True)

    def __init__(
        self,
        config: WeComAiBotConfig,
        db: Database,
        clock: Clock,
        *,
        reply_wait: float = 3.0,
        backoff: Backoff | None = None,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        super().__init__()
        self.config = config
        self.db = db
        self.clock = clock
        self.socket = AiBotSocket(
            config.ws_url,
            config.bot_id,
            config.secret,
            self._on_frame,
            heartbeat=config.heartbeat,
            backoff=backoff,
            sleep=sleep,
        )
        self.flow = InboundFlow(self, db, clock, wait=reply_wait)
        self.tasks = Tasks(f"{CHANNEL}-adapter")
        self._session: aiohttp.ClientSession | None = None

    # -- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the long connection in the background (it reconnects by itself)."""
        self._session = aiohttp.ClientSession()
        self.tasks.spawn(self.socket.run(self._session), name=f"{CHANNEL}-connection")

    async def close(self) -> None:
        """Finish late replies (briefly), close the connection and the HTTP session."""
        await self.flow.close()
        await self.socket.stop()
        await self.tasks.drain(1.0)
        if self._session is not None:
            await self._session.close()

    # -- inbound -----------------------------------------------------------------------------

    async def _on_frame(self, item: proto.Frame) -> None:
        """One callback from WeCom (run in a task of its own by the socket)."""
        body = item.body
        user = proto.sender_of(body)
        if not user:
            log.warning("aibot_callback_without_sender", cmd=item.cmd)
            return
        if item.cmd == proto.EVENT_CALLBACK:
            tapped = proto.card_event_of(body)
            if tapped is not None:
                await self._tap(item, user, *tapped)
            elif proto.event_type_of(body) == proto.ENTER_CHAT:
                await self._welcome(item, user)
            return
        chat = self._chat_of(body)
        if chat:
            try:
                if await store.record_chat(self.db, chat, user, self.clock.now()):
                    log.info("aibot_group_recorded", chat=f"{CHANNEL}:{chat}")
            except Exception as exc:  # the message is still handled; the next one records the group
                log.warning("aibot_group_record_failed", error=type(exc).__name__)
        key = body.get("msgid")
        if not isinstance(key, str) or not key:
            log.warning("aibot_message_without_msgid")
            return
        text = proto.text_of(body) if body.get("msgtype") == "text" else ""
        msg = self._message(user, key, text, chat) if text.strip() else None
        payload = {"key": key, "req_id": item.req_id, "body": body}
        result = await self.flow.receive(key, msg, payload, self._respond_late(item.req_id))
        if result is Outcome.UNSUPPORTED:
            await self._respond(item.req_id, Reply(UNSUPPORTED), None)
        elif isinstance(result, Reply) and msg is not None:
            await self._respond(item.req_id, result, msg)

    async def _welcome(self, item: proto.Frame, user: str) -> None:
        """Someone opened the private chat: greeted with the help text (as the app greets on entering it)."""
        msgid = item.body.get("msgid")
        key = f"enter:{msgid if isinstance(msgid, str) and msgid else item.req_id}"
        msg = self._message(user, key, HELP_TEXT, "")
        result = await self.flow.receive(key, msg, {"key": key, "req_id": item.req_id, "body": item.body}, _nowhere)
        if not isinstance(result, Reply):
            return  # a repeat, or too slow for WeCom's 5 s: no welcome
        try:
            error = proto.error_of(
                await self.socket.request(proto.RESPOND_WELCOME, proto.text_body(result.text), rid=item.req_id),
                proto.RESPOND_WELCOME,
            )
            if error is not None:
                raise error
        except PlatformError as exc:
            log.warning("aibot_welcome_failed", error=str(exc))

    @staticmethod
    def _chat_of(body: dict[str, Any]) -> str:
        chat = body.get("chatid", "")
        return chat if body.get("chattype") == "group" and isinstance(chat, str) else ""

    def _message(self, user: str, key: str, text: str, chat: str) -> IncomingMessage:
        return incoming_message(
            channel=CHANNEL,
            sender_id=user,
            text=text,
            message_id=key,
            received_at=self.clock.now(),
            chat_id=f"{CHANNEL}:{chat}" if chat else None,
        )

    def _respond_late(self, rid: str) -> Late:
        async def late(msg: IncomingMessage, reply: Reply) -> None:
            await self._respond(rid, reply, msg)

        return late

    async def _respond(self, rid: str, reply: Reply, msg: IncomingMessage | None) -> None:
        """Answer a message on its req_id; failing that (connection lost, req_id expired), through the outbox."""
        try:
            body = proto.stream_body(reply.text, proto.req_id("stream"))
            ack = await self.socket.request(proto.RESPOND, body, rid=rid)
            error = proto.error_of(ack, proto.RESPOND)
            if error is None:
                return
            raise error
        except PlatformError as exc:
            log.warning("aibot_respond_failed", error=str(exc))
        if msg is not None:
            await self._by_outbox(msg, reply)

    async def _by_outbox(self, msg: IncomingMessage, reply: Reply) -> None:
        target: PersonTarget | GroupTarget = (
            GroupTarget(CHANNEL, chat_id=msg.chat_id) if msg.chat_id else PersonTarget(CHANNEL, msg.sender_id)
        )
        message = OutgoingMessage(target, reply.text, reply.format, key=f"{CHANNEL}:reply:{msg.message_id}")
        await self.dispatcher.services.notifier.notify([message])

    # -- taps --------------------------------------------------------------------------------

    async def _tap(self, item: proto.Frame, user: str, task: str, button: str) -> None:
        """A tap on one of our cards: dispatched as the tapper's command; the card updated, the answer private."""
        found = task_of(task)
        text = tap_text(button, *found) if found is not None else None
        if text is None:
            return  # not our card, or the 已收到 button of an updated card
        key = f"card:{task}:{user}:{button}"
        msg = self._message(user, key, text, "")  # private, whatever chat the card is in: the answer is the tapper's
        payload = {"key": key, "req_id": item.req_id, "body": item.body}
        result = await self.flow.receive(key, msg, payload, self._tap_late(item.req_id, task, user))
        if isinstance(result, Reply):
            await self._tap_answer(item.req_id, task, user, msg, result)

    def _tap_late(self, rid: str, task: str, user: str) -> Late:
        async def late(msg: IncomingMessage, reply: Reply) -> None:
            await self._tap_answer(rid, task, user, msg, reply)

        return late

    async def _tap_answer(self, rid: str, task: str, user: str, msg: IncomingMessage, reply: Reply) -> None:
        if reply.card_state is not None:
            await self._update_card(rid, task, user, reply.card_state)
        await self._by_outbox(msg, replace(reply, card_state=None))

    async def _update_card(self, rid: str, task: str, user: str, state: str) -> None:
        """Show ``user`` the card with “已收到 08:03” as its only button. A failure is logged: the ack stands."""
        found = task_of(task)
        if found is None:
            return
        text = await store.card_text_of(self.db, task)
        card = (card_of(text) if text else None) or Card(found[0], found[1], state)
        updated = template_card(card, task)
        updated["button_list"] = [{"type": 0, "text": button_label(state), "style": 2, "key": DONE_KEY}]
        try:
            ack = await self.socket.request(proto.RESPOND_UPDATE, proto.update_body(updated, [user]), rid=rid)
            error = proto.error_of(ack, proto.RESPOND_UPDATE)
            if error is not None:
                raise error
        except PlatformError as exc:
            log.warning("aibot_card_update_failed", error=str(exc))

    async def replay(self, payload: dict[str, Any]) -> None:
        """Handle a claimed callback again whose first handling never finished; answers go through the outbox."""
        body, key = payload.get("body"), payload.get("key")
        if not isinstance(body, dict) or not isinstance(key, str):
            raise ValueError("wecom_aibot: not a replayable payload")
        user = proto.sender_of(body)
        tapped = proto.card_event_of(body)
        if tapped is not None:
            found = task_of(tapped[0])
            text = tap_text(tapped[1], *found) if found is not None else None
            msg = self._message(user, key, text, "") if text else None
        else:
            text = proto.text_of(body) if body.get("msgtype") == "text" else ""
            msg = self._message(user, key, text, self._chat_of(body)) if text.strip() else None
        await self.flow.replay(key, msg, self._by_outbox)

    # -- sending -----------------------------------------------------------------------------

    async def send(self, message: OutgoingMessage) -> str | None:
        """Push to a person (their userid) or a group that has @-mentioned the bot (``aibot_send_msg``)."""
        chat = await self._chat_to(message)
        if message.format is TextFormat.FILE:
            file = message.attachment
            if file is None:
                raise PlatformError("wecom_aibot: file message without its file", retryable=False)
            return await self.send(replace(message, text=link_text(file), format=TextFormat.TEXT, attachment=None))
        if message.format is TextFormat.CARD:
            return await self._send_card(chat, message)
        await self._push(chat, proto.markdown_body(message.text))
        return None

    async def _chat_to(self, message: OutgoingMessage) -> str:
        target = message.target
        if isinstance(target, PersonTarget):
            return target.user_id
        if target.webhook or not target.chat_id:
            raise PlatformError("wecom_aibot: a group target needs its chat id", retryable=False)
        chat = target.chat_id.removeprefix(f"{CHANNEL}:")
        if not await store.chat_known(self.db, chat):
            raise PlatformError(NOT_RECORDED.format(chat=chat), retryable=False)
        return chat

    async def _push(self, chat: str, body: dict[str, Any]) -> None:
        ack = await self.socket.request(proto.SEND, {"chatid": chat, **body})
        error = proto.error_of(ack, proto.SEND)
        if error is not None:
            raise error

    async def _send_card(self, chat: str, message: OutgoingMessage) -> str | None:
        """A reminder card; returns its task id. A card WeCom refuses goes as its text (which asks for 收到)."""
        card = card_of(message.text)
        fallback = card.text if card is not None else message.text
        if card is None:
            await self._push(chat, proto.markdown_body(fallback))
            return None
        task_id = new_task_id(card)
        try:
            await self._push(chat, proto.card_body(template_card(card, task_id)))
        except (RateLimited, PlatformAuthError):
            raise
        except PlatformError as exc:
            if exc.retryable or exc.code is None:
                raise
            log.warning("aibot_card_refused", error=str(exc))
            await self._push(chat, proto.markdown_body(fallback))
            return None
        return task_id
