"""The one place where chat-platform failures become :mod:`bot.errors` exceptions.

WeCom answers ``{"errcode": n, "errmsg": ...}``; DingTalk's old API and robot webhooks do the
same, its new API (api.dingtalk.com) answers an HTTP error status with ``{"code": "...",
"message": ...}``. Every client in this package funnels its failures through
:func:`platform_error` so the outbox sees the same three kinds everywhere: ``RateLimited``
(retry later), ``PlatformAuthError`` (credentials or IP allow-list: an operator must act) and
``PlatformError`` (retryable or not).
"""

from __future__ import annotations

from bot.errors import PlatformAuthError, PlatformError, RateLimited

# errcodes that mean "slow down"
RATE_LIMIT_CODES = frozenset(
    {
        45009,  # WeCom: 接口调用超过限制 (api freq out of limit), also the group robot's 20/min
        45033,  # WeCom: 接口并发调用超过限制
        45011,  # WeCom/WeChat: API 调用太频繁
        130101,  # DingTalk robot: send too fast, exceed 20 times per minute
    }
)
# errcodes that mean the credentials, token or source IP were refused
AUTH_CODES = frozenset(
    {
        40001,  # WeCom: 不合法的 secret
        40014,  # WeCom: 不合法的 access_token
        41001,  # WeCom: 缺少 access_token
        42001,  # WeCom: access_token 已过期
        40056,  # WeCom: 不合法的 agentid
        48002,  # WeCom: API 接口无权限调用
        60020,  # WeCom: 不安全的访问 IP (trusted IPs not configured)
        93000,  # WeCom group robot: invalid webhook key
        310000,  # DingTalk robot: sign not match / invalid timestamp / keywords not in content
        40035,  # DingTalk oapi: 不合法的参数 (bad appkey/secret on gettoken)
        88,  # DingTalk oapi: 鉴权失败
    }
)
# token errors after which a fresh token and one retry may help
TOKEN_CODES = frozenset({40014, 42001, 41001})
RETRYABLE_CODES = frozenset({-1})  # 系统繁忙
DINGTALK_RATE_WORDS = ("throttl", "flowcontrol", "qpslimit", "ratelimit", "toomanyrequests")
DINGTALK_AUTH_WORDS = ("invalidauthentication", "forbidden", "unauthorized", "invalid.clientid", "accesstoken")


def platform_error(
    platform: str,
    *,
    status: int | None = None,
    code: int | str | None = None,
    message: str = "",
    network: bool = False,
) -> PlatformError:
    """The exception for one failed platform call (never includes request URLs, tokens or message text).

    ``status`` is the HTTP status, ``code`` the platform's errcode (int) or error code (str),
    ``message`` its errmsg, ``network`` True for connection failures and timeouts.
    """
    msg = (message or "")[:200]
    if network:
        return PlatformError(f"{platform}: network error: {msg}", retryable=True)
    if isinstance(code, int) and code != 0:
        text = f"{platform}: errcode {code}: {msg}"
        if code in RATE_LIMIT_CODES:
            return RateLimited(text, code=code, retryable=True)
        if code in AUTH_CODES:
            # A token refused even right after a fresh one was fetched is the platform's trouble (or
            # another instance refreshing at that moment): the message is retried later. A bad secret,
            # agent id or trusted-IP list is not: an operator must act.
            return PlatformAuthError(text, code=code, retryable=code in TOKEN_CODES)
        return PlatformError(text, code=code, retryable=code in RETRYABLE_CODES)
    if isinstance(code, str) and code:
        lowered = code.lower().replace("_", "")
        text = f"{platform}: {code} (HTTP {status}): {msg}"
        if status == 429 or any(w in lowered for w in DINGTALK_RATE_WORDS):
            return RateLimited(text, code=status, retryable=True)
        if status in (401, 403) or any(w in lowered for w in DINGTALK_AUTH_WORDS):
            return PlatformAuthError(text, code=status, retryable=False)
        return PlatformError(text, code=status, retryable=status is not None and status >= 500)
    if status == 429:
        return RateLimited(f"{platform}: HTTP 429", code=status, retryable=True)
    if status in (401, 403):
        return PlatformAuthError(f"{platform}: HTTP {status}", code=status, retryable=False)
    if status is not None and status >= 500:
        return PlatformError(f"{platform}: HTTP {status}", code=status, retryable=True)
    if status is not None and status >= 400:
        return PlatformError(f"{platform}: HTTP {status}: {msg}", code=status, retryable=False)
    return PlatformError(f"{platform}: unexpected answer: {msg}", retryable=True)


def is_token_error(exc: PlatformError) -> bool:
    """True when a fresh access token may fix the call (WeCom 40014/42001/41001, DingTalk HTTP 401)."""
    return isinstance(exc, PlatformAuthError) and (exc.code in TOKEN_CODES or exc.code == 401)
