"""Pages from jinja2 templates (autoescaped), with the session's token and messages."""

from __future__ import annotations

import json
import time
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

from review_web.state import SESSION, SESSION_TOKEN, SESSIONS, TEMPLATES

TEMPLATE_DIR = Path(__file__).resolve().parent / "templates"


def age(moment: float, now: float | None = None) -> str:
    """``42 s``, ``5 min``, ``3 h``, ``2 d``: how long ago."""
    seconds = max(0.0, (now if now is not None else time.time()) - moment)
    if seconds < 60:
        return f"{int(seconds)} s"
    if seconds < 3600:
        return f"{int(seconds // 60)} min"
    if seconds < 86_400:
        return f"{int(seconds // 3600)} h"
    return f"{int(seconds // 86_400)} d"


def clock(moment: float) -> str:
    """The moment in the server's time zone: ``2026-11-27 21:05:01``."""
    return datetime.fromtimestamp(moment).astimezone().strftime("%Y-%m-%d %H:%M:%S")


def shown(value: Any) -> str:
    """A field's value as a person reads it; multifields item by item."""
    if value is None or value is False or value == "" or value == [] or value == {}:
        return ""
    if isinstance(value, list):
        return "\n".join(_item(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)


def typed(value: str) -> str:
    """``PHONE:+79991234567`` as ``phone +79991234567``."""
    kind, sep, text = value.partition(":")
    return f"{kind.lower()} {text}" if sep else value


def _item(value: Any) -> str:
    if isinstance(value, dict) and "VALUE" in value:
        kind = value.get("VALUE_TYPE")
        return f"{value['VALUE']} ({kind})" if kind else str(value["VALUE"])
    return shown(value)


def environment() -> jinja2.Environment:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATE_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(age=age, clock=clock, shown=shown, typed=typed)
    return env


async def tell(
    request: web.Request, level: str, text: str, href: str = "", label: str = ""
) -> None:
    """A message for the next page this session sees (after a redirect)."""
    session = request[SESSION]
    session.flash.append({"level": level, "text": text, "href": href, "label": label})
    await request.app[SESSIONS].save(request[SESSION_TOKEN], session)


async def render(
    request: web.Request, template: str, *, status: int = 200, **context: Any
) -> web.Response:
    """The page, with the session's CSRF token and its waiting messages (shown once)."""
    session = request.get(SESSION)
    flash: list[dict[str, str]] = []
    if session is not None and session.flash:
        flash, session.flash = session.flash, []
        await request.app[SESSIONS].save(request[SESSION_TOKEN], session)
    page = request.app[TEMPLATES].get_template(template)
    body = page.render(
        csrf=session.csrf if session is not None else "",
        who=session.who if session is not None else "",
        flash=flash,
        **context,
    )
    return web.Response(text=body, content_type="text/html", status=status)
