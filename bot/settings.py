"""Typed configuration: environment variables ``EXAMBOT_*`` over an optional ``exambot.toml``.

Secrets are read from the environment only; a secret found in the TOML file is an error, so a
config file can be committed or shared without leaking credentials.
"""

from __future__ import annotations

import os
import re
import time
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, get_args
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from annotated_types import Ge, Gt, Le, Lt
from pydantic import Field, SecretStr, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from bot.clock import Clock, ScaledClock, SystemClock

ENV_PREFIX = "EXAMBOT_"
DEFAULT_CONFIG_FILE = "exambot.toml"


class ConfigError(Exception):
    """The configuration cannot be used; the message names the variable and what is expected."""


class _TomlSource(PydanticBaseSettingsSource):
    """Reads ``exambot.toml`` (or ``$EXAMBOT_CONFIG``); refuses secrets in it."""

    def __init__(self, settings_cls: type[BaseSettings], path: Path | None) -> None:
        super().__init__(settings_cls)
        self.path = path

    def get_field_value(self, field: Any, field_name: str) -> tuple[Any, str, bool]:  # pragma: no cover
        raise NotImplementedError  # __call__ is used instead

    def __call__(self) -> dict[str, Any]:
        if self.path is None or not self.path.exists():
            return {}
        try:
            data = tomllib.loads(self.path.read_text(encoding="utf-8"))
        except tomllib.TOMLDecodeError as exc:
            where = re.search(r"line (\d+), column (\d+)", str(exc))
            at = f"第{where.group(1)}行第{where.group(2)}列" if where else ""
            raise ConfigError(f"配置文件 {self.path}（EXAMBOT_CONFIG）不是有效的 TOML：{at}有语法错误") from exc
        except UnicodeDecodeError as exc:
            raise ConfigError(f"配置文件 {self.path}（EXAMBOT_CONFIG）应为 UTF-8 编码") from exc
        section = data.get("exambot", data)
        if not isinstance(section, dict):
            raise ConfigError(f"配置文件 {self.path}（EXAMBOT_CONFIG）：[exambot] 应为一个表")
        out: dict[str, Any] = {}
        for key, value in section.items():
            name = key.lower()
            if name not in self.settings_cls.model_fields:
                raise ConfigError(f"配置文件 {self.path}（EXAMBOT_CONFIG）：未知配置项 {key!r}")
            if name in SECRET_FIELDS:
                raise ConfigError(
                    f"配置文件 {self.path}：密钥 {key!r} 只能通过环境变量 {ENV_PREFIX}{name.upper()} 设置，"
                    "不能写在配置文件里"
                )
            out[name] = value
        return out


_ISO_HINT = "应为带时区的 ISO 时间，例如 2026-12-05T08:00:00+08:00"


class Settings(BaseSettings):
    """Everything the service can be told; see README for the table."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, extra="ignore", validate_default=True)

    database_url: str = Field("sqlite:///./exambot.db", description="sqlite:///path 或 postgresql://user@host/db")
    timezone: str = Field("Asia/Shanghai", description="考试日程所在时区（IANA 名称）")
    host: str = Field("127.0.0.1", description="监听地址")
    port: int = Field(8080, ge=1, le=65535, description="监听端口")
    console: bool = Field(False, description="启用本地网页控制台（仅限回环地址）")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field("INFO", description="日志级别")
    log_json: bool = Field(False, description="日志输出为 JSON（一行一条）")
    kb_dir: str = Field("", description="额外规章条款文件目录，多个用系统路径分隔符隔开")
    cache_dir: Path | None = Field(
        None, description="jieba 词典缓存目录（默认 $XDG_CACHE_HOME/exambot 或 ~/.cache/exambot）"
    )
    import_max_rows: int = Field(200_000, ge=1, description="导入文件最多的数据行数（各工作表合计），超过则拒绝导入")
    import_max_bytes: int = Field(
        50 * 1024 * 1024, ge=1, description="导入文件的最大字节数（默认 50 MB），超过则拒绝导入"
    )
    import_max_merged_cells: int = Field(
        100_000, ge=0, description="导入文件中合并单元格最多覆盖的单元格数，超过则拒绝导入"
    )
    busy_timeout_ms: int = Field(15000, ge=0, description="SQLite 写锁被其他进程占用时的最长等待（毫秒）")
    report_grace_minutes: int = Field(
        120,
        ge=0,
        description="监考/考评人员在当天最后一场结束后还可报告的分钟数；之后由考务办公室或督导用 /补录 补录",
    )
    clock_speed: float = Field(1.0, gt=0, description="仅供测试：时间加速倍数")
    clock_origin: str = Field("", description="仅供测试：加速时钟的起点（ISO 时间，带时区）")
    clock_epoch: float = Field(0.0, ge=0, description="仅供测试：加速时钟起点对应的真实 Unix 时间")

    wecom_corp_id: str = Field("", description="企业微信 CorpID")
    wecom_agent_id: str = Field("", description="企业微信应用 AgentId")
    wecom_secret: SecretStr = Field(SecretStr(""), description="企业微信应用 Secret")
    wecom_token: SecretStr = Field(SecretStr(""), description="企业微信回调 Token")
    wecom_aes_key: SecretStr = Field(SecretStr(""), description="企业微信回调 EncodingAESKey")
    wecom_api_base: str = Field("https://qyapi.weixin.qq.com", description="企业微信 API 地址（测试时指向假服务）")
    wecom_bot_id: str = Field("", description="企业微信智能机器人 Bot ID（长连接；留空则不启用）")
    wecom_bot_secret: SecretStr = Field(SecretStr(""), description="企业微信智能机器人 Secret")
    wecom_bot_ws_url: str = Field(
        "wss://openws.work.weixin.qq.com", description="企业微信智能机器人长连接地址（测试时指向假服务）"
    )

    dingtalk_app_key: str = Field("", description="钉钉应用 AppKey")
    dingtalk_app_secret: SecretStr = Field(SecretStr(""), description="钉钉应用 AppSecret")
    dingtalk_robot_code: str = Field("", description="钉钉机器人 robotCode")
    dingtalk_api_base: str = Field("https://api.dingtalk.com", description="钉钉新版 API 地址")
    dingtalk_oapi_base: str = Field("https://oapi.dingtalk.com", description="钉钉旧版 API / 群机器人地址")
    dingtalk_stream: bool = Field(False, description="使用钉钉 Stream 模式（无需公网回调地址）")
    dingtalk_card_template_id: str = Field(
        "", description="钉钉互动卡片模板 ID（关键提醒的“收到”卡片，需 Stream 模式）；留空则发文字提醒"
    )

    timeline_file: Path | None = Field(None, description="提醒时间线覆盖文件（TOML）")
    board_token: SecretStr = Field(
        SecretStr(""),
        description="考务看板链接的签名密钥（设置后提供 /board；链接用 exambot board-link 或 /看板 生成）",
    )
    public_url: str = Field(
        "",
        description="本服务对外的网址（看板链接和文件下载链接用，例如 https://exam.example.org）；不设则为 http://监听地址:端口",
    )
    file_link_secret: SecretStr = Field(
        SecretStr(""), description="文件下载链接的签名密钥（多实例须相同）；不设则每次启动随机生成，重启后旧链接失效"
    )
    file_link_hours: int = Field(24, ge=1, le=24 * 7, description="文件下载链接的有效小时数")
    escalate_to: str = Field(
        "", description="催办升级发给哪些值班的考务办公室人员（姓名或账号，逗号分隔；不设则发给全部考务办公室人员）"
    )

    @property
    def escalation_staff(self) -> tuple[str, ...]:
        """The office staff on duty named by ``escalate_to`` (empty: all of the office)."""
        return tuple(w.strip() for w in re.split(r"[,，、;；\s]+", self.escalate_to) if w.strip())

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("未知时区，例如 Asia/Shanghai") from exc
        return value

    @field_validator("database_url")
    @classmethod
    def _supported_db(cls, value: str) -> str:
        scheme = value.split(":", 1)[0].split("+", 1)[0]
        if scheme not in ("sqlite", "postgresql", "postgres"):
            raise ValueError("数据库地址应为 sqlite:///路径 或 postgresql://用户@主机/数据库")
        return value

    @field_validator("clock_origin")
    @classmethod
    def _aware_origin(cls, value: str) -> str:
        if value:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError as exc:
                raise ValueError(_ISO_HINT) from exc
            if parsed.tzinfo is None:
                raise ValueError(_ISO_HINT)
        return value

    @field_validator("timeline_file", "cache_dir", mode="before")
    @classmethod
    def _blank_is_none(cls, value: object) -> object:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("timeline_file")
    @classmethod
    def _existing_file(cls, value: Path | None) -> Path | None:
        if value is not None and not value.is_file():
            raise ValueError("文件不存在" if not value.exists() else "应为一个文件，而不是目录")
        return value

    def make_clock(self) -> Clock:
        """The service clock: the wall clock, or a shared accelerated one when the test settings ask for it."""
        if not self.clock_origin and self.clock_speed == 1.0:
            return SystemClock()
        origin = datetime.fromisoformat(self.clock_origin) if self.clock_origin else datetime.now(UTC)
        return ScaledClock(origin, self.clock_epoch or time.time(), self.clock_speed)

    @property
    def tz(self) -> ZoneInfo:
        """The exam timezone as a tzinfo."""
        return ZoneInfo(self.timezone)

    @property
    def report_grace(self) -> timedelta:
        """How long after the day's last session ends invigilators may still report."""
        return timedelta(minutes=self.report_grace_minutes)

    @property
    def kb_dirs(self) -> list[Path]:
        """Extra knowledge-base directories."""
        return [Path(p) for p in self.kb_dir.split(os.pathsep) if p.strip()]

    @property
    def cache_path(self) -> Path:
        """Directory for caches (jieba's dictionary): ``cache_dir``, else ``$XDG_CACHE_HOME/exambot``,
        else ``~/.cache/exambot``. The knowledge base falls back to the temporary directory when it is
        not writable."""
        if self.cache_dir is not None:
            return self.cache_dir
        xdg = os.environ.get("XDG_CACHE_HOME")  # the freedesktop convention, not an EXAMBOT_ setting
        return (Path(xdg) if xdg else Path.home() / ".cache") / "exambot"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (init_settings, env_settings, _TomlSource(settings_cls, Path(config_path())))


def config_path() -> str:
    """The TOML file the settings come from: ``$EXAMBOT_CONFIG`` or ``exambot.toml`` in the working directory."""
    return os.environ.get(ENV_PREFIX + "CONFIG") or DEFAULT_CONFIG_FILE


SECRET_FIELDS = frozenset(name for name, f in Settings.model_fields.items() if f.annotation is SecretStr)


def load_settings(**overrides: Any) -> Settings:
    """Build the settings, turning validation errors into one readable :class:`ConfigError`."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = str(err["loc"][0]) if err["loc"] else "?"
            got = err.get("input")
            lines.append(f"{ENV_PREFIX}{field.upper()}：{_explain(field, err)}（当前值 {got!r}）")
        raise ConfigError("配置错误：\n  " + "\n  ".join(lines)) from None


def _bounds(field: str) -> tuple[Any, Any, bool]:
    """(lower, upper, lower is exclusive) of a numeric setting, None where open."""
    info = Settings.model_fields.get(field)
    low = high = None
    strict = False
    for m in info.metadata if info is not None else ():
        if isinstance(m, Ge):
            low = m.ge
        elif isinstance(m, Gt):
            low, strict = m.gt, True
        elif isinstance(m, Le):
            high = m.le
        elif isinstance(m, Lt):
            high = m.lt
    return low, high, strict


def _explain(field: str, err: Any) -> str:
    """What the setting expects, in Chinese, for one pydantic error."""
    kind = err["type"]
    if kind == "value_error":
        return str(err.get("ctx", {}).get("error", err["msg"]))
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return "应为整数"
    if kind in ("float_parsing", "float_type", "finite_number"):
        return "应为数字"
    if kind in ("bool_parsing", "bool_type"):
        return "应为 0 或 1"
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        low, high, strict = _bounds(field)
        if low is not None and high is not None:
            return f"应在 {low}–{high} 之间"
        if low is not None:
            return f"应大于 {low}" if strict else f"应不小于 {low}"
        return f"应不大于 {high}"
    if kind == "literal_error":
        info = Settings.model_fields.get(field)
        options = [str(a) for a in get_args(info.annotation)] if info is not None else []
        return f"应为 {'、'.join(options)} 之一" if options else "取值无效"
    if kind in ("path_type", "string_type"):
        return "应为文本"
    if kind == "missing":
        return "缺少该配置项"
    return f"取值无效（{err['msg']}）"


def mask_url(url: str) -> str:
    """Hide the password of a database URL."""
    if "://" not in url or "@" not in url:
        return url
    scheme, rest = url.split("://", 1)
    creds, host = rest.rsplit("@", 1)
    if ":" in creds:
        user = creds.split(":", 1)[0]
        return f"{scheme}://{user}:****@{host}"
    return url


def describe(settings: Settings) -> list[tuple[str, str, str]]:
    """(variable, shown value, description) for every setting, secrets masked, switches as 1/0.

    The first row is the configuration file itself (``EXAMBOT_CONFIG``) and whether it was read.
    """
    path = Path(config_path())
    state = "已读取" if path.is_file() else "文件不存在，未使用"
    rows = [(ENV_PREFIX + "CONFIG", str(path), f"配置文件（{state}；仅环境变量）")]
    for name, field in Settings.model_fields.items():
        value = getattr(settings, name)
        if isinstance(value, SecretStr):
            shown = "********" if value.get_secret_value() else "(未设置)"
        elif name == "database_url":
            shown = mask_url(value)
        elif isinstance(value, bool):
            shown = "1" if value else "0"
        elif value is None or value == "":
            shown = "(未设置)"
        else:
            shown = str(value)
        rows.append((ENV_PREFIX + name.upper(), shown, field.description or ""))
    return rows
