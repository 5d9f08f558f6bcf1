"""HTTP boundary: routes grouped by audience, plus forms, auth, templating and error pages."""

from fair.web import convertors

# Before any route module builds its routes: `{name:int}` matches database ids only.
convertors.register()
