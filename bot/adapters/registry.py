"""Which adapters run: built from the settings, one per enabled channel.

A platform whose credentials are all unset is off (one log line says so); one whose credentials
are only partly set refuses to start, naming what is missing.
"""

from __future__ import annotations

import re

import structlog
from pydantic import SecretStr

from bot.adapters.base import Adapter
from bot.adapters.console import ConsoleAdapter
from bot.clock import Clock
from bot.settings import ENV_PREFIX, ConfigError, Settings
from bot.store.engine import Database

log = structlog.get_logger("exambot.adapters")

WECOM_FIELDS = ("wecom_corp_id", "wecom_agent_id", "wecom_secret", "wecom_token", "wecom_aes_key")
DINGTALK_FIELDS = ("dingtalk_app_key", "dingtalk_app_secret", "dingtalk_robot_code")
WECOM_AIBOT_FIELDS = ("wecom_bot_id", "wecom_bot_secret")
_AES_KEY = re.compile(r"^[A-Za-z0-9]{43}$")


def webhook_channel(url: str) -> str:
    """The platform of a group robot's webhook address.

    DingTalk's robots are addressed at ``oapi.dingtalk.com/robot/send``; WeCom's at
    ``qyapi.weixin.qq.com/cgi-bin/webhook/send``, which is also what any other address is taken for.
    """
    return "dingtalk" if "dingtalk" in url else "wecom"


def _value(settings: Settings, name: str) -> str:
    value = getattr(settings, name)
    if isinstance(value, SecretStr):
        value = value.get_secret_value()
    return str(value).strip()


def _env(name: str) -> str:
    return ENV_PREFIX + name.upper()


def _credentials(settings: Settings, channel: str, names: tuple[str, ...]) -> dict[str, str] | None:
    """The values of ``names``; None when all are empty; ConfigError when only some are set."""
    values = {n: _value(settings, n) for n in names}
    missing = [n for n, v in values.items() if not v]
    if len(missing) == len(names):
        log.info("channel_off", channel=channel, reason=f"{', '.join(_env(n) for n in names)} 均未设置")
        return None
    if missing:
        raise ConfigError(
            f"{channel} 配置不完整：缺少 {', '.join(_env(n) for n in missing)}"
            f"（要启用该渠道需全部设置；要关闭则全部留空）"
        )
    return values


def build_adapters(settings: Settings, db: Database, clock: Clock, *, console: bool) -> dict[str, Adapter]:
    """The adapters for every enabled channel, keyed by channel name."""
    adapters: dict[str, Adapter] = {}
    if console:
        adapters["console"] = ConsoleAdapter(db, clock)
    wecom = _credentials(settings, "wecom", WECOM_FIELDS)
    if wecom is not None:
        from bot.adapters.wecom import WeComAdapter, WeComConfig  # startup: wechatpy only when WeCom is on

        if not wecom["wecom_agent_id"].isdigit():
            raise ConfigError(f"{_env('wecom_agent_id')} 应为数字（应用的 AgentId）")
        if not _AES_KEY.match(wecom["wecom_aes_key"]):
            raise ConfigError(f"{_env('wecom_aes_key')} 应为 43 位字母和数字（应用“接收消息”里的 EncodingAESKey）")
        adapters["wecom"] = WeComAdapter(
            WeComConfig(
                corp_id=wecom["wecom_corp_id"],
                agent_id=int(wecom["wecom_agent_id"]),
                secret=wecom["wecom_secret"],
                token=wecom["wecom_token"],
                aes_key=wecom["wecom_aes_key"],
                api_base=settings.wecom_api_base,
            ),
            db,
            clock,
        )
    dingtalk = _credentials(settings, "dingtalk", DINGTALK_FIELDS)
    if dingtalk is not None:
        from bot.adapters.dingtalk import DingTalkAdapter, DingTalkConfig  # startup: only when DingTalk is on

        adapters["dingtalk"] = DingTalkAdapter(
            DingTalkConfig(
                app_key=dingtalk["dingtalk_app_key"],
                app_secret=dingtalk["dingtalk_app_secret"],
                robot_code=dingtalk["dingtalk_robot_code"],
                api_base=settings.dingtalk_api_base,
                oapi_base=settings.dingtalk_oapi_base,
                stream=settings.dingtalk_stream,
                card_template_id=settings.dingtalk_card_template_id,
            ),
            db,
            clock,
        )
    aibot = _credentials(settings, "wecom_aibot", WECOM_AIBOT_FIELDS)
    if aibot is not None:
        from bot.adapters.wecom_aibot import WeComAiBotAdapter, WeComAiBotConfig  # startup: only when the AI bot is on

        adapters["wecom_aibot"] = WeComAiBotAdapter(
            WeComAiBotConfig(
                bot_id=aibot["wecom_bot_id"], secret=aibot["wecom_bot_secret"], ws_url=settings.wecom_bot_ws_url
            ),
            db,
            clock,
        )
    return adapters
