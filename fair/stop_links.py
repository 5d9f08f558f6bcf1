"""Links that stop a kind of mail one asked for (an alert's digests, the CV pool's reminders)
in one click, without logging in: a signed token naming the object, in the mail's text and in
its List-Unsubscribe header with List-Unsubscribe-Post (RFC 8058), so that mail clients show
their own "unsubscribe" button.

Opening the link (GET) only shows a page with a button: mail scanners follow links, and must
not stop anything. The button posts a form with its CSRF token; a mail client's one-click
POST (`List-Unsubscribe=One-Click`, no cookie, no token) is the only POST spared the CSRF
check (fair.web.auth.page(one_click=True)), and the signed token in its URL is what it proves.
"""

from __future__ import annotations

import base64
import hashlib
import hmac

from fair import settings

# RFC 8058: the body a mail client posts to the List-Unsubscribe URL.
ONE_CLICK_FIELD = "List-Unsubscribe"
ONE_CLICK_VALUE = "One-Click"


def _signature(purpose: str, object_id: int) -> str:
    key = settings.get().secret_key.encode()
    digest = hmac.new(key, f"{purpose}:{object_id}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:18]).decode()


def token(purpose: str, object_id: int) -> str:
    """The secret part of a stop link: "<id>.<signature>" (HMAC of the purpose and the id)."""
    return f"{object_id}.{_signature(purpose, object_id)}"


def read(purpose: str, raw: str) -> int | None:
    """The id a stop link of `purpose` names, or None for a link that is not one of ours."""
    head, _, signature = raw.partition(".")
    if not (head.isascii() and head.isdigit() and len(head) <= 10):
        return None
    expected = _signature(purpose, int(head))
    return int(head) if hmac.compare_digest(signature.encode(), expected.encode()) else None


def headers(url: str) -> dict[str, str]:
    """The headers of a mail whose stop link is `url` (an https URL of this site)."""
    return {
        "List-Unsubscribe": f"<{url}>",
        "List-Unsubscribe-Post": f"{ONE_CLICK_FIELD}={ONE_CLICK_VALUE}",
    }
