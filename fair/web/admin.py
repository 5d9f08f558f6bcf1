"""admin pages (being written)."""

routes: list = []
