"""Every table sits in the one scroll region of templates/_table.html (usable at 360 px)."""

from __future__ import annotations

import re

from fair import settings


def test_every_table_is_in_a_focusable_scroll_region():
    templates = settings.get().templates_dir
    bare = []
    for path in sorted(templates.rglob("*.html")):
        text = path.read_text(encoding="utf-8")
        for match in re.finditer(r"<table\b", text):
            before = text[: match.start()]
            opened = before.rfind("{% call tables.scroll(")
            closed = before.rfind("{% endcall %}")
            if opened == -1 or closed > opened:
                line = before.count("\n") + 1
                bare.append(f"{path.relative_to(templates)}:{line}")
    assert bare == []
    assert "<table" in (templates / "recruiter" / "booth.html").read_text()  # not vacuous
