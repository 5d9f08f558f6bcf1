"""organiser pages (being written)."""

routes: list = []
