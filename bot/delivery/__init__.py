"""Delivery: every message the bot sends on its own initiative is an outbox row first, then sent.

- :mod:`bot.delivery.targets` — how a target is stored (JSON) and named (its rate-limit key);
- :mod:`bot.delivery.rows` — statuses, new rows and bulk inserts;
- :mod:`bot.delivery.merge` — rows of one target merged into platform messages that fit its size limit;
- :mod:`bot.delivery.sender` — claim, check, reserve the rate window, send, finish (the send protocol);
- :mod:`bot.delivery.notices` — what the office is told about reminders that expired or failed;
- :mod:`bot.delivery.notifier` — the handlers' ``ctx.notify``: persist, then send.

What a row waits for (its ``condition``), how a digest is written, and each platform's text limit are
handed in by :func:`bot.app.create_app`: this package knows neither the exam timeline nor a platform.
"""
