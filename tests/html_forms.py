"""The forms of a page read as a browser reads them, to post them back unchanged.

`forms_of(page)` parses every `<form>` with the standard library's HTML parser and keeps what a
browser would submit when the form is sent as it stands: inputs with their `value` (checkboxes and
radios only when `checked`), each `<select>`'s selected options (the first option when none is
selected and the select is single), textareas' text, and the first submit button's name and value
when it has a name (the button that implicit submission clicks). Disabled controls are left out;
file inputs are sent empty, as a browser sends an unchosen file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

SUBMITS = {"submit", "image"}
UNSENT = {"reset", "button"}


@dataclass
class Form:
    action: str
    method: str
    enctype: str
    fields: list[tuple[str, str]] = field(default_factory=list)
    files: list[str] = field(default_factory=list)
    button: tuple[str, str] | None = None

    def data(self) -> dict[str, str | list[str]]:
        """The fields as httpx takes them (a list for a repeated name), the button included."""
        out: dict[str, str | list[str]] = {}
        pairs = [*self.fields, *([self.button] if self.button else [])]
        for name, value in pairs:
            if name in out:
                previous = out[name]
                out[name] = [*previous, value] if isinstance(previous, list) else [previous, value]
            else:
                out[name] = value
        return out

    def values(self) -> dict[str, list[str]]:
        """Every field's values in order, without the CSRF token and the button."""
        out: dict[str, list[str]] = {}
        for name, value in self.fields:
            if name != "csrf_token":
                out.setdefault(name, []).append(value)
        return out

    def send(self) -> dict[str, object]:
        """Keyword arguments for `client.request(form.method, form.action, **form.send())`."""
        if self.enctype == "multipart/form-data":
            files = [(name, ("", b"", "application/octet-stream")) for name in self.files]
            # httpx sends a multipart body only with files; a form without any gets a dummy part
            # that no handler reads.
            return {"data": self.data(), "files": files or [("_", ("", b""))]}
        return {"data": self.data()}


@dataclass
class _Select:
    name: str
    multiple: bool
    options: list[tuple[str, bool]] = field(default_factory=list)
    disabled: bool = False


class _Parser(HTMLParser):
    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.forms: list[Form] = []
        self.current: Form | None = None
        self.select: _Select | None = None
        self.option: dict[str, str | None] | None = None
        self.option_text: list[str] = []
        self.textarea: tuple[str, bool] | None = None
        self.textarea_text: list[str] = []

    def handle_starttag(self, tag: str, attributes: list[tuple[str, str | None]]) -> None:
        attrs = dict(attributes)
        if tag == "form":
            action = urljoin(self.base, attrs.get("action") or self.base)
            method = (attrs.get("method") or "get").upper()
            enctype = attrs.get("enctype") or "application/x-www-form-urlencoded"
            self.current = Form(action, method, enctype)
            self.forms.append(self.current)
        elif self.current is None:
            return
        elif tag == "input":
            self._input(self.current, attrs)
        elif tag == "button":
            self._button(self.current, attrs)
        elif tag == "select":
            name = attrs.get("name") or ""
            self.select = _Select(name, "multiple" in attrs, disabled="disabled" in attrs)
        elif tag == "option" and self.select is not None:
            self._close_option()
            self.option = attrs
            self.option_text = []
        elif tag == "textarea":
            self.textarea = (attrs.get("name") or "", "disabled" in attrs)
            self.textarea_text = []

    def _input(self, form: Form, attrs: dict[str, str | None]) -> None:
        kind = (attrs.get("type") or "text").lower()
        name = attrs.get("name")
        if not name or "disabled" in attrs or kind in UNSENT:
            return
        if kind in SUBMITS:
            if form.button is None:
                form.button = (name, attrs.get("value") or "")
        elif kind == "file":
            form.files.append(name)
        elif kind in ("checkbox", "radio"):
            if "checked" in attrs:
                form.fields.append((name, attrs.get("value") or "on"))
        else:
            form.fields.append((name, attrs.get("value") or ""))

    def _button(self, form: Form, attrs: dict[str, str | None]) -> None:
        kind = (attrs.get("type") or "submit").lower()
        name = attrs.get("name")
        if kind == "submit" and name and "disabled" not in attrs and form.button is None:
            form.button = (name, attrs.get("value") or "")

    def handle_data(self, data: str) -> None:
        if self.textarea is not None:
            self.textarea_text.append(data)
        elif self.option is not None:
            self.option_text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self.textarea is not None and self.current is not None:
            name, disabled = self.textarea
            if name and not disabled:
                text = "".join(self.textarea_text)
                # A browser drops the one newline that follows <textarea>.
                self.current.fields.append((name, text[1:] if text.startswith("\n") else text))
            self.textarea = None
        elif tag == "option":
            self._close_option()
        elif tag == "select" and self.select is not None and self.current is not None:
            self._close_option()
            self._close_select(self.current, self.select)
            self.select = None
        elif tag == "form":
            self.current = None

    def _close_option(self) -> None:
        if self.option is None or self.select is None:
            return
        value = self.option.get("value")
        if value is None:
            value = " ".join("".join(self.option_text).split())
        if "disabled" not in self.option:
            self.select.options.append((value, "selected" in self.option))
        self.option = None

    def _close_select(self, form: Form, select: _Select) -> None:
        if not select.name or select.disabled or not select.options:
            return
        chosen = [value for value, selected in select.options if selected]
        if not select.multiple:
            chosen = chosen[-1:] or [select.options[0][0]]
        form.fields.extend((select.name, value) for value in chosen)


def forms_of(page: str, base: str = "http://testserver/") -> list[Form]:
    """Every form of `page`, in document order, with the values it would send as it stands."""
    parser = _Parser(base)
    parser.feed(page)
    parser.close()
    return parser.forms
