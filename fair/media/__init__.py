"""Media: the webconference relay built on aiortc.

`relay` forwards a presenter's encoded VP8 video and Opus audio to every viewer without decoding
or re-encoding per viewer. It is the only module that reaches into aiortc's internals; the aiortc
version is pinned in pyproject.toml for it.

Import order: `relay` imports nothing from fair.
"""
