"""Presentation videos: which players a booth page embeds, and how.

Only players that set no cookie and track nobody before the visitor presses play, so that no
consent banner is needed: YouTube through www.youtube-nocookie.com, Vimeo with `dnt=1`. Any
other address (another host, a playlist, a channel) is shown as a plain link. The pages'
Content-Security-Policy lets frames come from exactly `FRAME_SOURCES` (fair/web/middleware.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qs, urlsplit

YOUTUBE = "https://www.youtube-nocookie.com"
VIMEO = "https://player.vimeo.com"
FRAME_SOURCES = (YOUTUBE, VIMEO)

YOUTUBE_HOSTS = {"youtube.com", "m.youtube.com", "youtube-nocookie.com"}
VIMEO_HOSTS = {"vimeo.com", "player.vimeo.com"}
YOUTUBE_ID = re.compile(r"^[A-Za-z0-9_-]{11}$")
VIMEO_ID = re.compile(r"^[0-9]{1,12}$")
VIMEO_HASH = re.compile(r"^[0-9a-f]{6,20}$")


@dataclass(frozen=True)
class Embed:
    src: str  # the player's address
    host: str  # its name for people ("YouTube", "Vimeo")


def embed(url: str) -> Embed | None:
    """The cookie-free player for the video at `url`, or None when it has none."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:
        return None
    host = (parts.hostname or "").removeprefix("www.")
    if parts.scheme != "https":
        return None
    segments = [s for s in parts.path.split("/") if s]
    if host in YOUTUBE_HOSTS or host == "youtu.be":
        return _youtube(host, segments, parse_qs(parts.query))
    if host in VIMEO_HOSTS:
        return _vimeo(segments, parse_qs(parts.query))
    return None


def _youtube(host: str, segments: list[str], query: dict[str, list[str]]) -> Embed | None:
    if host == "youtu.be":
        video = segments[0] if len(segments) == 1 else ""
    elif segments == ["watch"]:
        video = query.get("v", [""])[0]
    elif len(segments) == 2 and segments[0] in ("embed", "shorts", "live"):
        video = segments[1]
    else:
        return None
    if not YOUTUBE_ID.match(video):
        return None
    return Embed(f"{YOUTUBE}/embed/{video}", "YouTube")


def _vimeo(segments: list[str], query: dict[str, list[str]]) -> Embed | None:
    if segments[:1] == ["video"]:
        segments = segments[1:]
    if not segments or len(segments) > 2 or not VIMEO_ID.match(segments[0]):
        return None
    # An unlisted video's address carries its key, as a second segment or as ?h=.
    key = segments[1] if len(segments) == 2 else query.get("h", [""])[0]
    if key and not VIMEO_HASH.match(key):
        return None
    src = f"{VIMEO}/video/{segments[0]}?dnt=1" + (f"&h={key}" if key else "")
    return Embed(src, "Vimeo")
