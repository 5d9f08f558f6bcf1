"""ICE servers for the browsers' RTCPeerConnections (interview rooms and webconference stages).

STUN as set, and TURN with time-limited credentials in coturn's REST style (`use-auth-secret`):
the TURN server checks them with the same shared secret, so none is stored.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import datetime
from typing import Any

from fair import clock, settings


def servers(*, user_id: int, now: datetime | None = None) -> list[dict[str, Any]]:
    """RTCPeerConnection's iceServers: STUN as set, TURN with credentials for this user."""
    conf = settings.get()
    found: list[dict[str, Any]] = []
    if conf.stun_urls:
        found.append({"urls": list(conf.stun_urls)})
    if conf.turn_urls:
        expires = int((now or clock.now()).timestamp()) + conf.turn_ttl
        username, credential = turn_credentials(conf.turn_secret, user_id=user_id, expires=expires)
        found.append({"urls": list(conf.turn_urls), "username": username, "credential": credential})
    return found


def turn_credentials(secret: str, *, user_id: int, expires: int) -> tuple[str, str]:
    """coturn's REST credentials: "<expiry>:<user>" and base64(HMAC-SHA1(secret, username))."""
    username = f"{expires}:{user_id}"
    digest = hmac.new(secret.encode(), username.encode(), hashlib.sha1).digest()
    return username, base64.b64encode(digest).decode()
