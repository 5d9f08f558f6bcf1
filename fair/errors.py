"""One error tree: every expected business outcome is a FairError with an HTTP status and a code."""

from __future__ import annotations

from typing import Any


class FairError(Exception):
    """An expected failure shown to the user.

    `message` is an English msgid, translated at the boundary; `params` fill its placeholders.
    `fields` maps form field names to msgids, for errors tied to a form input.
    """

    status = 400
    code = "fair.error"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: str | None = None,
        params: dict[str, Any] | None = None,
        fields: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if code is not None:
            self.code = code
        self.params = params or {}
        self.fields = fields or {}


class NotFound(FairError):
    status = 404
    code = "fair.not_found"


class NotYours(NotFound):
    """Someone else's object (an application, interview, conversation, room, queue place…):
    answered exactly as one that does not exist (same message and code), since a 403 would
    tell that it does."""


class Forbidden(FairError):
    status = 403
    code = "fair.forbidden"


class Unauthenticated(FairError):
    status = 401
    code = "auth.required"


class Conflict(FairError):
    status = 409
    code = "fair.conflict"


class MediaUnavailable(Conflict):
    """No media process answers now (fair.media.broker: its Redis out of reach, none alive, no
    reply in time): an outage, expected while one restarts, not a defect (fair.media_rooms
    `report`). `reported`: the media client logged it already, as it gave up."""

    status = 503
    code = "stage.unavailable"

    def __init__(self, message: str, *, reported: bool = False, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.reported = reported


class Invalid(FairError):
    status = 422
    code = "fair.invalid"


class TooMany(FairError):
    status = 429
    code = "fair.too_many"


class TooLarge(FairError):
    status = 413
    code = "upload.too_large"
