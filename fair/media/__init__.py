"""Media: webconference stages and interview calls through the server, built on aiortc.

`relay` forwards a presenter's encoded VP8 video and Opus audio to every viewer without decoding
or re-encoding per viewer. It is the only module that reaches into aiortc's internals; the aiortc
version is pinned in pyproject.toml for it. `recorder` muxes those encoded frames into a WebM
file. `stage` holds a process's media rooms (publishers, viewers, recordings); `host` wraps it
with the live events (counts, closing ended talks). With media processes, `broker` holds what
both sides share over Redis, `remote` is the web processes' side and `server` the `fair media`
process.

Import order: `relay` and `recorder` import nothing from fair.media; `stage` imports them;
`host` imports `stage`; `broker` nothing from fair.media; `remote` imports `broker`; `server`
imports `broker` and `host`.
"""
