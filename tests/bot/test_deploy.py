"""The deployment files stay in step with the code."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import ENV_PREFIX, Settings

DEPLOY = Path(__file__).resolve().parents[2] / "deploy"


def _listed(text: str) -> set[str]:
    """Variables named in an env file, set or commented out."""
    return set(re.findall(r"^#?\s*(EXAMBOT_[A-Z_]+)=", text, flags=re.MULTILINE))


def test_env_example_lists_every_setting() -> None:
    """deploy/.env.example names every EXAMBOT_* setting (and the compose file's database password)."""
    text = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    wanted = {ENV_PREFIX + name.upper() for name in Settings.model_fields}
    wanted |= {"EXAMBOT_CONFIG", "EXAMBOT_CACHE_DIR"}  # read before the settings exist
    assert wanted - _listed(text) == set()
    assert re.search(r"^POSTGRES_PASSWORD=", text, flags=re.MULTILINE)


def test_env_example_has_no_secret_values() -> None:
    """The example ships no credential: secrets are empty (or CHANGE_ME placeholders)."""
    text = (DEPLOY / ".env.example").read_text(encoding="utf-8")
    for name in ("SECRET", "TOKEN", "AES_KEY", "PASSWORD"):
        for line in re.findall(rf"^[A-Z_]*{name}=.*$", text, flags=re.MULTILINE):
            assert line.split("=", 1)[1] in ("", "CHANGE_ME"), line


def test_nginx_sites_work_on_debian_nginx() -> None:
    """The nginx sites use the http2 form nginx 1.22 (Debian 12) accepts and redirect plain HTTP."""
    for name in ("nginx-site.conf", "nginx-compose.conf"):
        text = (DEPLOY / name).read_text(encoding="utf-8")
        assert "http2 on;" not in text
        assert "listen 443 ssl http2;" in text
        assert "return 301 https://" in text
        assert "client_max_body_size 64k;" in text


def test_container_runs_as_non_root() -> None:
    """The image drops root before the service starts."""
    text = (DEPLOY / "Dockerfile").read_text(encoding="utf-8")
    users = re.findall(r"^USER\s+(\S+)", text, flags=re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    assert re.search(r"^FROM python:3\.\d+-slim", text, flags=re.MULTILINE)
