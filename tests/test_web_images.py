"""Images served in their fixed sizes: by the Accept header or by format, immutable, cookie-free;
logos stored before their variants existed are resized when asked for."""

from __future__ import annotations

from fair import db, files, images
from fair.enums import FileKind, Role
from tests import factories as f
from tests.pictures import opened, picture


async def test_served_by_accept_header_with_immutable_caching(client, session) -> None:  # type: ignore[no-untyped-def]
    owner = await f.user(session, Role.RECRUITER, can_log_in=False)
    prepared = await images.prepare(picture((400, 400)), images.LOGO, field="logo")
    stored = await images.store(session, owner_id=owner.id, filename="l.png", prepared=prepared)
    cv = await files.store(
        session,
        owner_id=owner.id,
        kind=FileKind.CV,
        filename="cv.pdf",
        data=f.pdf_bytes(),
        content_type="application/pdf",
    )
    await db.commit(session)
    base = f"/files/images/{stored.id}"
    webp = await client.get(f"{base}/96", headers={"accept": "image/avif,image/webp,*/*"})
    plain = await client.get(f"{base}/96", headers={"accept": "*/*"})
    chosen = await client.get(f"{base}/192.png", headers={"accept": "image/webp"})
    assert [
        (r.status_code, r.headers["content-type"], opened(r.content)) for r in (webp, plain, chosen)
    ] == [
        (200, "image/webp", ("WEBP", (96, 96))),
        (200, "image/png", ("PNG", (96, 96))),
        (200, "image/png", ("PNG", (192, 192))),
    ]
    assert (webp.headers["cache-control"], webp.headers["vary"], "set-cookie" in webp.headers) == (
        "public, max-age=31536000, immutable",
        "Accept",
        False,
    )
    assert "vary" not in chosen.headers
    # Only the preset's widths, only images: not a CV, not any size.
    missing = [f"{base}/100", f"{base}/96.gif", f"/files/images/{cv.id}/96", f"{base}9/96"]
    assert [(await client.get(path)).status_code for path in missing] == [404] * 4


async def test_a_logo_stored_before_its_variants_is_served_resized(client, session) -> None:  # type: ignore[no-untyped-def]
    owner = await f.user(session, Role.RECRUITER, can_log_in=False)
    old = await files.store(
        session,
        owner_id=owner.id,
        kind=FileKind.LOGO,
        filename="old.png",
        data=picture((1200, 600)),
        content_type="image/png",
    )
    await db.commit(session)
    modern = await client.get(f"/files/logos/{old.id}", headers={"accept": "image/webp"})
    legacy = await client.get(f"/files/logos/{old.id}", headers={"accept": "image/png"})
    small = await client.get(f"/files/images/{old.id}/96.webp")
    assert [(r.headers["content-type"], opened(r.content)) for r in (modern, legacy, small)] == [
        ("image/webp", ("WEBP", (192, 96))),
        ("image/png", ("PNG", (192, 96))),
        ("image/webp", ("WEBP", (96, 48))),
    ]
