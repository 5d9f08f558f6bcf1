"""Media: webconference stages and interview calls through the server, built on aiortc.

`relay` forwards a presenter's encoded VP8 video and Opus audio to every viewer without decoding
or re-encoding per viewer, through `fanout`, which sends each frame to every viewer's socket at
once. These two are the only modules that reach into aiortc's internals (each lists what it
uses); the aiortc version is pinned in pyproject.toml for them. `recorder` muxes those encoded
frames into a WebM file. `stage` holds a process's media rooms (publishers, viewers,
recordings); `host` wraps it with the live events (counts, closing ended talks). With media
processes, `broker` holds what both sides share over Redis, `remote` is the web processes' side
and `server` the `fair media` process.

A talk with more viewers than one media process serves spreads over several: the others take
it from the first as one viewer each (`broker`, "Legs").

`consent` makes aioice keep ICE consent as browsers do (RFC 7675), for every peer of a process
that holds rooms.

Import order: `fanout`, `recorder`, `broker` and `consent` import nothing from fair.media;
`relay` imports `fanout`; `stage` imports `relay`, `recorder`, `consent` and `broker` (the legs'
names); `host` imports `stage`; `remote` imports `broker`; `server` imports `broker`, `host`,
`stage` and `remote` (a leg calls its origin as a web process does).
"""
