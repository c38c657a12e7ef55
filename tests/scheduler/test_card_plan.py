"""A critical step also goes to the chief privately as a card; the group keeps its text; no card elsewhere."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from bot.adapters.base import AdapterNotifier, Capabilities
from bot.metrics import Metrics
from bot.model import OutgoingMessage, PersonTarget, TextFormat, card_of
from bot.store.tables import ExamSession, SessionKind
from scheduler.reminders import RoomPlan, StaffRef, compute_reminders

GROUP = {"type": "group", "channel": "console", "chat_id": "console:第1考场", "webhook": None, "secret": None}
ROOM = RoomPlan(
    id=11,
    room_no="第1考场",
    group=GROUP,
    chiefs=(StaffRef(1, "王芳"),),
    deputies=(StaffRef(2, "李强"),),
    staff=(StaffRef(1, "王芳"), StaffRef(2, "李强")),
)
START = datetime(2026, 12, 5, 1, 0, tzinfo=UTC)
SESSION = ExamSession(id=5, code="T", occupation="电工", level="四级", kind=SessionKind.THEORY, day=date(2026, 12, 5),
                      starts_at=START, ends_at=START + timedelta(minutes=90))  # fmt: skip


def test_critical_steps_get_a_card_for_the_chief_only() -> None:
    """Every ack step: one CARD row to the chief (not the deputy), due with the group text, cancelled once acked."""
    planned = compute_reminders(SESSION, [ROOM], START - timedelta(hours=2), tz=ZoneInfo("Asia/Shanghai"))
    cards = [m for m in planned if m.kind == "card"]
    assert {m.step for m in cards} == {"papers_pickup", "open_papers", "late_entry", "stop"}
    assert {m.target_key for m in cards} == {"staff:1"}
    for card in cards:
        assert card.format is TextFormat.CARD and card.key.split(":")[4] == "card"
        assert card.condition == {"type": "acked", "room_id": 11, "step": card.step}
        group = next(
            m for m in planned if m.kind == "reminder" and m.step == card.step and m.target_key.startswith("group")
        )
        assert group.format is TextFormat.TEXT and group.due_at == card.due_at and group.expires_at == card.expires_at
        parsed = card_of(card.text)
        assert parsed is not None and (parsed.room_id, parsed.step) == (11, card.step)
        assert parsed.text == group.text and "回复“收到”确认" in parsed.text  # the card's fallback is the text
        assert parsed.title.endswith(group.text[group.text.index("·") + 1 : group.text.index("】")])
    assert not [m for m in planned if m.kind == "card" and m.step in ("meeting", "start")]


class _Recorder:
    name = "plain"

    def __init__(self, cards: bool) -> None:
        self.capabilities = Capabilities(cards=cards)
        self.sent: list[OutgoingMessage] = []

    async def send(self, message: OutgoingMessage) -> str | None:
        self.sent.append(message)
        return None


async def test_a_channel_without_cards_gets_the_cards_text() -> None:
    """A card to a channel that shows none (DingTalk until it learns cards) goes as its text asking for 收到."""
    plain, carding = _Recorder(False), _Recorder(True)
    notifier = AdapterNotifier({"plain": plain, "carding": carding}, Metrics())  # type: ignore[dict-item]
    text = "【12月05日 09:03·启封试卷】请主监考（王芳）回复“收到”确认。\ncard:11:open_papers"
    for channel in ("plain", "carding"):
        await notifier.deliver(OutgoingMessage(PersonTarget(channel, "u1"), text, TextFormat.CARD))
    assert [(m.format, m.text) for m in plain.sent] == [(TextFormat.TEXT, text.rsplit("\n", 1)[0])]
    assert [(m.format, m.text) for m in carding.sent] == [(TextFormat.CARD, text)]
