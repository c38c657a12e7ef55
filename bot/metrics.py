"""Prometheus metrics, one registry per app so tests can run several apps in one process."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest


class OutCounter:
    """``exambot_messages_out_total`` by channel, command and kind; ``command`` may be left out ("-")."""

    def __init__(self, registry: CollectorRegistry) -> None:
        self.counter = Counter(
            "exambot_messages_out_total",
            "Messages sent, by channel, command (what they answer or announce) and kind (reply, notice)",
            ["channel", "command", "kind"],
            registry=registry,
        )

    def labels(self, channel: str, kind: str, command: str = "-") -> Counter:
        """The child counter for one channel, kind and command."""
        return self.counter.labels(channel=channel, command=command, kind=kind)


class Metrics:
    """The counters and histograms the service exports at ``/metrics``."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.messages_in = Counter(
            "exambot_messages_in_total",
            "Messages received, by channel and command",
            ["channel", "command"],
            registry=self.registry,
        )
        self.messages_out = OutCounter(self.registry)
        self.errors = Counter(
            "exambot_errors_total",
            "Errors, by channel and kind",
            ["channel", "kind"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "exambot_handle_seconds",
            "Time to handle one incoming message",
            ["channel"],
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
            registry=self.registry,
        )

    def render(self) -> bytes:
        """The exposition text."""
        return generate_latest(self.registry)
