"""Time source: real, fixed (tests) or accelerated (the demo's ``--speed``)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """Anything that tells the current time as an aware datetime."""

    def now(self) -> datetime: ...

    @property
    def speed(self) -> float: ...


class SystemClock:
    """The wall clock, in UTC."""

    speed = 1.0

    def now(self) -> datetime:
        """Current time."""
        return datetime.now(UTC)


class FastClock:
    """Wall clock running ``speed`` times faster from ``origin`` (the demo plays a day in minutes)."""

    def __init__(self, speed: float, origin: datetime | None = None) -> None:
        if speed <= 0:
            raise ValueError("speed must be positive")
        self.speed = speed
        self._origin = origin or datetime.now(UTC)
        self._mono0 = time.monotonic()

    def now(self) -> datetime:
        """Accelerated current time."""
        return self._origin + timedelta(seconds=(time.monotonic() - self._mono0) * self.speed)


class ScaledClock:
    """A clock shared by several processes: equals ``origin`` at unix time ``epoch`` and runs ``speed`` times faster.

    Every instance started with the same three values agrees on the time, so tests can play a whole
    exam day across several ``exambot serve`` processes in minutes.
    """

    def __init__(self, origin: datetime, epoch: float, speed: float) -> None:
        if origin.tzinfo is None:
            raise ValueError("ScaledClock needs an aware origin")
        if speed <= 0:
            raise ValueError("speed must be positive")
        self._origin = origin
        self._epoch = epoch
        self.speed = speed

    def now(self) -> datetime:
        """Scaled current time."""
        return self._origin + timedelta(seconds=(time.time() - self._epoch) * self.speed)


class ManualClock:
    """A clock that moves only when told: for tests."""

    speed = 1.0

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("ManualClock needs an aware datetime")
        self._now = start

    def now(self) -> datetime:
        """The set time."""
        return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when``."""
        self._now = when

    def advance(self, delta: timedelta) -> datetime:
        """Move forward by ``delta`` and return the new time."""
        self._now += delta
        return self._now
