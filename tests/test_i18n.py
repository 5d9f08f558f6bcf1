"""Every English msgid shown to users has a French translation, and the catalogues are valid.

The msgids are collected by tests/catalogue.py, which also says how to rewrite the catalogues.
"""

from __future__ import annotations

from babel.messages.catalog import Catalog, Message

from tests.catalogue import LOCALE_DIR, PLACEHOLDER, collect, read_catalogue

# --- Checks ---------------------------------------------------------------------------------


def _placeholders(text: str) -> set[str]:
    return {match.group(1) or match.group(0) for match in PLACEHOLDER.finditer(text)}


def _format_problem(msgid: str, msgstr: str) -> str | None:
    """Whether `msgstr` breaks where `msgid` can be %-formatted (as Jinja's newstyle does)."""
    params = {name: 1 for name in _placeholders(msgid)}
    try:
        msgid % params
    except (KeyError, ValueError, TypeError):
        return None
    try:
        msgstr % params
    except (KeyError, ValueError, TypeError) as exc:
        return f"cannot be formatted: {exc!r}"
    return None


def _problems(catalog: Catalog, template: Catalog) -> list[str]:
    problems = []
    for message in template:
        if not message.id:
            continue
        label = message.id if isinstance(message.id, str) else message.id[0]
        translated: Message | None = catalog.get(message.id)
        if translated is None or not translated.string:
            problems.append(f"missing: {label!r}  ({_where(message)})")
            continue
        if translated.fuzzy:
            problems.append(f"fuzzy: {label!r}")
        if isinstance(message.id, tuple):
            singular, plural = message.id
            strings = translated.string if isinstance(translated.string, tuple) else ()
            if not isinstance(translated.id, tuple) or len(strings) != catalog.num_plurals:
                problems.append(f"plural forms: {label!r} needs {catalog.num_plurals} msgstr")
                continue
            if not all(strings):
                problems.append(f"missing plural form: {label!r}")
            expected = _placeholders(singular) | _placeholders(plural)
            for string in strings:
                extra = _placeholders(string) - expected
                if extra:
                    problems.append(f"placeholders {sorted(extra)} unknown in {label!r}")
                if (issue := _format_problem(plural, string)) is not None:
                    problems.append(f"{label!r}: {issue}")
            if _placeholders(strings[-1]) != _placeholders(plural):
                problems.append(f"placeholders differ in the plural of {label!r}")
        elif not isinstance(translated.string, str):
            problems.append(f"unexpected plural msgstr for {label!r}")
        else:
            string = translated.string
            if _placeholders(label) != _placeholders(string):
                problems.append(
                    f"placeholders differ: {label!r} {sorted(_placeholders(label))} "
                    f"vs {string!r} {sorted(_placeholders(string))}"
                )
            elif (issue := _format_problem(label, string)) is not None:
                problems.append(f"{label!r}: {issue}")
    return problems


def _where(message: Message) -> str:
    return ", ".join(f"{filename}:{lineno}" for filename, lineno in message.locations[:3])


def test_collector_finds_the_hidden_msgids() -> None:
    ids = {m.id if isinstance(m.id, str) else m.id[0] for m in collect() if m.id}
    for expected in (
        "This field is required.",  # forms.REQUIRED
        "Shortlisted",  # an enum label
        "Page not found",  # errors.TITLES
        "Do you receive the RSA (revenu de solidarité active)?",  # candidate PRIORITY_LABELS
        "Health",  # rome.DOMAINS
    ):
        assert expected in ids, expected
    assert any(text.startswith("Thank you for your interest") for text in ids)  # DEFAULT_DECLINE
    assert len(ids) > 300


def test_french_catalogue_translates_every_msgid() -> None:
    template = collect()
    catalog = read_catalogue(LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po")
    assert catalog.plural_forms == "nplurals=2; plural=(n > 1);"
    problems = _problems(catalog, template)
    assert not problems, f"{len(problems)} problem(s) in fr/messages.po:\n" + "\n".join(problems)


def test_french_catalogue_has_no_fuzzy_entries() -> None:
    catalog = read_catalogue(LOCALE_DIR / "fr" / "LC_MESSAGES" / "messages.po")
    fuzzy = [m.id for m in catalog if m.id and m.fuzzy]
    assert not fuzzy, f"fuzzy entries in fr/messages.po: {fuzzy}"
    assert not catalog.fuzzy, "the fr/messages.po header is marked fuzzy"


def test_english_catalogue_is_valid() -> None:
    """English needs no translations (msgids are English), but its catalogue must parse."""
    catalog = read_catalogue(LOCALE_DIR / "en" / "LC_MESSAGES" / "messages.po")
    assert catalog.plural_forms == "nplurals=2; plural=(n != 1);"
    for message in catalog:
        if message.id and message.string:
            assert _placeholders(
                message.id if isinstance(message.id, str) else message.id[-1]
            ) >= _placeholders(message.string if isinstance(message.string, str) else "")


def test_translations_work_at_runtime() -> None:
    from fair import i18n

    i18n.translations.cache_clear()
    assert i18n.gettext("Shortlisted", "fr") == "Présélectionnée"
    assert i18n.gettext("Shortlisted", "en") == "Shortlisted"
    assert i18n.gettext("This field is required.", "fr") != "This field is required."


def test_template_messages_read_as_jinja_formats_them(conf) -> None:  # type: ignore[no-untyped-def]
    """fair.web.templating's `_()` formats only a message with variables or a "%" (as jinja's
    own newstyle gettext would, which formats every one): the same text, escaped the same."""
    from fair.web import templating

    env = templating.build_env()
    source = (
        '{{ _("Remote possible") }}|{{ _("Match: %(score)s %%", score="<b>") }}'
        '|{{ _("50 %% off") }}|{{ _("Applied") }}'
    )
    assert env.from_string(source).render() == (
        "Télétravail possible|Correspondance : &lt;b&gt; %|50 % off|Candidature envoyée"
    )
