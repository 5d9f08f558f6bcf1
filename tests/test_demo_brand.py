"""The demo's branding and recruiters' photos (fair.demo_brand): drawn images of the right shapes,
accepted by fair.images, and set through fair.branding and fair.recruiter_profiles."""

from __future__ import annotations

import io

from PIL import Image
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from fair import branding, demo, demo_brand, images, recruiter_profiles
from fair.enums import Role
from fair.models import ImageVariant
from tests import factories as f


def opened(data: bytes) -> tuple[str | None, tuple[int, int], str]:
    with Image.open(io.BytesIO(data)) as image:
        return image.format, image.size, image.mode


def test_initials() -> None:
    assert demo_brand.initials("Rencontres pour l'emploi 2026") == "RE"
    assert demo_brand.initials("Karim Benali") == "KB"
    assert demo_brand.initials("Forum de l'alternance et des métiers") == "FA"
    assert demo_brand.initials("Inès") == "I"


def test_drawn_images_have_their_shapes() -> None:
    colour = demo.DATA["edition"]["brand"]["colour"]
    assert opened(demo_brand.draw_logo("RE", colour)) == ("PNG", (384, 384), "RGBA")
    assert opened(demo_brand.draw_avatar("KB", colour)) == ("PNG", (256, 256), "RGBA")
    assert opened(demo_brand.draw_banner("Rencontres pour l'emploi 2026", colour)) == (
        "JPEG",
        (1440, 360),
        "RGB",
    )
    for name in ("France Travail", "Département de l'Hérault", "Cap emploi"):
        assert opened(demo_brand.draw_wordmark(name, "#1d3f8f")) == ("PNG", (384, 192), "RGBA")


def test_the_demo_colours_pass_the_contrast_rule() -> None:
    brand = demo.DATA["edition"]["brand"]
    colours = [brand["colour"], *(p["colour"] for p in brand["partners"])]
    colours += demo.DATA["recruiters"]["avatar_colours"]
    for colour in colours:
        assert branding.check_colour(colour) == (colour, branding.WHITE), colour


async def test_dress_brands_the_edition_and_gives_photos(session: AsyncSession) -> None:
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    booth, recruiter = await f.booth(session, edition_=edition)
    colleague = await f.colleague(session, booth_=booth, owner=recruiter)
    brand = demo.DATA["edition"]["brand"]
    await demo_brand.dress(
        session,
        edition=edition,
        organiser=organiser,
        recruiters=[recruiter, colleague],
        brand=brand,
        people=demo.DATA["recruiters"],
    )
    row = await branding.brand_of(session, edition)
    assert (row.colour, row.text_colour) == ("#0d6b6e", "#ffffff")
    assert row.logo_file_id is not None and row.banner_file_id is not None
    partners = await branding.partners(session, edition.id)
    assert [(p.name, p.link) for p in partners] == [
        (p["name"], p["link"]) for p in brand["partners"]
    ]
    assert all(p.logo_file_id is not None for p in partners)
    banner = await session.execute(
        select(ImageVariant.width, ImageVariant.height, ImageVariant.format)
        .where(ImageVariant.file_id == row.banner_file_id)
        .order_by(ImageVariant.width, ImageVariant.format)
    )
    assert [tuple(r) for r in banner.all()] == [
        (720, 180, "jpeg"),
        (720, 180, "webp"),
        (1440, 360, "jpeg"),
        (1440, 360, "webp"),
    ]
    profiles = [await recruiter_profiles.profile(session, u) for u in (recruiter, colleague)]
    assert [p.job_title for p in profiles] == demo.DATA["recruiters"]["job_titles"][:2]
    for found in profiles:
        assert found.photo_file_id is not None
        served = await images.served(session, found.photo_file_id, 64, formats=())
        assert served is not None and served.content_type == "image/png"
        assert opened(served.data)[1] == (64, 64)
