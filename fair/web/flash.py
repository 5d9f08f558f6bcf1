"""Saying that a save worked: a message kept in the session and shown once, on the next page.

A route that saves then redirects calls `flash(request, "The offer was saved.")`. The message
is kept only once the request's transaction has committed (a save rolled back says nothing);
base.html shows it in a role="status" region of the next page rendered, in that page's
language, and it is gone after that.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request

from fair import db, i18n
from fair.web.auth import database

KEY = "flash"


def flash(
    request: Request,
    message: str,
    *,
    plural: str = "",
    num: int = 0,
    labels: dict[str, str] | None = None,
    **params: Any,
) -> None:
    """Show `message` (a msgid; with `plural`, chosen by `num`) once on the next page.

    `params` are JSON values shown as they are (user text is never looked up in the
    catalogue); `labels` are msgids shown translated, such as a status's label.
    """
    entry = {"message": message, "plural": plural, "num": num, "params": params}
    entry["labels"] = labels or {}

    async def keep() -> None:
        request.session[KEY] = [*request.session.get(KEY, []), entry]

    db.after_commit(database(request), keep)


def take(request: Request) -> list[str]:
    """The messages waiting for the page being rendered, translated; they are shown only once.

    A page that a script fetches in the background (static/live.js re-reading a list) leaves
    them for the next page the person opens.
    """
    if request.headers.get("sec-fetch-dest", "document") != "document":
        return []
    if "session" not in request.scope or not request.session.get(KEY):
        return []
    return [_text(entry) for entry in request.session.pop(KEY)]


def _text(entry: dict[str, Any]) -> str:
    params = dict(entry["params"])
    params.update({name: i18n.gettext(label) for name, label in entry["labels"].items()})
    if entry["plural"]:
        return i18n.ngettext(entry["message"], entry["plural"], entry["num"], **params)
    return i18n.gettext(entry["message"], **params)
