"""recruiter pages (being written)."""

routes: list = []
