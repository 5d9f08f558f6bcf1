"""The design system's example page (docs/DESIGN.md): every token and component of
static/fair.css and templates/_ui.html on one page, served only when the `styleguide` setting is
on (its default in development; refused in production by fair.settings)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from fair import settings
from fair.errors import NotFound
from fair.i18n import N_
from fair.web import forms
from fair.web.auth import page
from fair.web.templating import render

# The colour tokens shown as swatches, in the order of docs/DESIGN.md.
SWATCHES = ("bg", "surface", "soft", "ink", "muted", "brand", "brand-text", "ok", "err", "warn")


@page
async def styleguide(request: Request) -> Response:
    if not settings.get().styleguide:
        raise NotFound("The page you asked for does not exist or was moved.")
    # A form refused as a handler would refuse it, to show the error summary and a field's error.
    form = forms.FormState(
        values={"email": "camille@"},
        errors={"email": N_("Enter a valid e-mail address, such as name@example.fr.")},
    )
    return render(request, "styleguide.html", {"form": form, "swatches": SWATCHES})


routes = [Route("/styleguide", styleguide, name="styleguide")]
