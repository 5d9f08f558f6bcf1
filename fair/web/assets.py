"""Static files: URLs that carry a hash of the file's content, and cache headers to match.

Templates link `static('fair.css')`, which reads `/static/fair.css?v=<hash>`; the hashes are
computed once when the app is built. A request that names the current hash may be cached for
a year (`immutable`): a changed file gets a new URL. Any other request (no or an old version)
is revalidated each time. Compression is the app's GZip middleware's job (see fair/app.py).
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path
from urllib.parse import parse_qs

from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

IMMUTABLE = "public, max-age=31536000, immutable"
REVALIDATE = "no-cache"


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:12]


class Assets(StaticFiles):
    """StaticFiles that knows each file's content hash, for versioned URLs."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory=directory)
        self.root = Path(directory)
        self.versions = {
            path.relative_to(self.root).as_posix(): _digest(path)
            for path in sorted(self.root.rglob("*"))
            if path.is_file()
        }

    def url(self, name: str) -> str:
        """The versioned URL of static file `name` (plain when the file is unknown)."""
        version = self.versions.get(name)
        return f"/static/{name}?v={version}" if version else f"/static/{name}"

    def file_response(
        self,
        full_path: str | os.PathLike[str],
        stat_result: os.stat_result,
        scope: Scope,
        status_code: int = 200,
    ) -> Response:
        response = super().file_response(full_path, stat_result, scope, status_code)
        name = Path(full_path).resolve().relative_to(self.root.resolve()).as_posix()
        asked = parse_qs(scope.get("query_string", b"").decode("latin-1")).get("v", [""])[0]
        current = self.versions.get(name)
        fresh = current is not None and asked == current
        response.headers["cache-control"] = IMMUTABLE if fresh else REVALIDATE
        return response
