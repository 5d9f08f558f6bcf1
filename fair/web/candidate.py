"""candidate pages (being written)."""

routes: list = []
