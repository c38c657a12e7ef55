"""Exceptions shared across the service."""

from __future__ import annotations


class UserFacingError(Exception):
    """An expected refusal: its message (one Simplified-Chinese sentence) is sent to the user."""

    def __init__(self, message: str, *, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage

    def render(self) -> str:
        """The text sent to the chat."""
        if self.usage:
            return f"{self.message}\n用法：{self.usage}"
        return self.message


class PlatformError(Exception):
    """A chat platform's API failed (network, HTTP status, or an error code)."""

    def __init__(self, message: str, *, code: int | None = None, retryable: bool = True) -> None:
        super().__init__(message)
        self.code = code
        self.retryable = retryable


class PlatformAuthError(PlatformError):
    """Credentials were refused by the platform."""


class RateLimited(PlatformError):
    """The platform asked us to slow down; retry later."""


class ServiceUnavailable(Exception):
    """A dependency (the database) is unreachable for now: answer 503 so the platform retries later."""
