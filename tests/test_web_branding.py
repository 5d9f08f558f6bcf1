"""Edition branding over HTTP: the organiser's page (colour, logo, banner, partners), who may use
it, and the public pages wearing it (the edition's stylesheet, its header, partners' logos)."""

from __future__ import annotations

import re

from sqlalchemy import select

from fair import branding, db, images
from fair.enums import Role
from fair.models import EditionBrand, EditionPartner, ImageVariant
from fair.web import templating
from tests import factories as f
from tests.conftest import csrf, login
from tests.pages import as_user, text
from tests.pictures import picture


async def read(app, query):  # type: ignore[no-untyped-def]
    async with app.state.read_sessions() as s:
        return list((await s.scalars(query)).all())


def png(size: tuple[int, int] = (300, 150)) -> tuple[str, bytes, str]:
    return ("logo.png", picture(size), "image/png")


async def save(client, edition_id: int, data: dict, files: dict | None = None):  # type: ignore[no-untyped-def,type-arg]
    path = f"/organiser/editions/{edition_id}/branding"
    payload = {"csrf_token": await csrf(client, path), **data}
    return await client.post(path, data=payload, files=files or {})


async def test_organiser_sets_colour_logo_and_banner_and_the_public_pages_wear_them(  # type: ignore[no-untyped-def]
    app, client, make_client, session
):
    organiser = await as_user(client, session)
    edition = await f.edition(session, by=organiser)
    await db.commit(session)
    page = await client.get(f"/organiser/editions/{edition.id}/branding")
    assert page.status_code == 200
    assert f'href="/organiser/editions/{edition.id}/branding"' in page.text  # in the nav
    response = await save(
        client,
        edition.id,
        {"colour": "#1D6B35", "text": ""},
        {"logo": png(), "banner": ("b.jpg", picture((2000, 500), fmt="JPEG"), "image/jpeg")},
    )
    assert response.status_code == 303
    (brand,) = await read(app, select(EditionBrand))
    assert (brand.edition_id, brand.colour, brand.text_colour) == (edition.id, "#1d6b35", "#ffffff")
    assert brand.logo_file_id and brand.banner_file_id
    async with app.state.read_sessions() as s:
        query = select(ImageVariant.file_id, ImageVariant.width, ImageVariant.format)
        variants = [tuple(row) for row in await s.execute(query)]
    assert sorted(variants) == sorted(
        [(brand.logo_file_id, w, fmt) for w in (96, 192) for fmt in ("webp", "png")]
        + [(brand.banner_file_id, w, fmt) for w in (720, 1440) for fmt in ("webp", "jpeg")]
    )

    visitor = make_client()
    landing = await visitor.get(f"/e/{edition.slug}")
    look = branding.Look(edition.slug, None, None, *branding.tokens("#1d6b35", "#ffffff"))
    css_url = f"/e/{edition.slug}/brand.css?v={look.version}"
    assert f'<link rel="stylesheet" href="{css_url}">' in landing.text
    assert f'src="/files/images/{brand.logo_file_id}/96"' in landing.text
    assert f'src="/files/images/{brand.banner_file_id}/720"' in landing.text
    hall = await visitor.get(f"/e/{edition.slug}/booths")
    assert css_url in hall.text and f"/files/images/{brand.logo_file_id}/96" in hall.text
    assert f"/files/images/{brand.banner_file_id}/" not in hall.text  # the landing page only
    # Not on the organiser's pages, nor on an other edition's.
    assert "brand.css" not in page.text
    other = await f.edition(session)
    await db.commit(session)
    assert "brand.css" not in (await visitor.get(f"/e/{other.slug}")).text

    css = await visitor.get(css_url)
    assert css.headers["content-type"] == "text/css; charset=utf-8"
    assert css.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "set-cookie" not in css.headers and "vary" not in css.headers
    assert css.text.startswith(":root { --brand: #1d6b35; --brand-strong: ")
    assert "--brand-ink: #ffffff;" in css.text
    unversioned = await visitor.get(f"/e/{edition.slug}/brand.css")
    assert unversioned.headers["cache-control"] == "public, max-age=300"
    etag = unversioned.headers["etag"]
    again = await visitor.get(f"/e/{edition.slug}/brand.css", headers={"if-none-match": etag})
    assert (again.status_code, again.content) == (304, b"")
    assert (await visitor.get(f"/e/{other.slug}/brand.css")).status_code == 404

    # The logo replaced, the banner removed, the colour back to fair's own.
    response = await save(
        client, edition.id, {"colour": "", "remove_banner": "on"}, {"logo": png((90, 90))}
    )
    assert response.status_code == 303
    (after,) = await read(app, select(EditionBrand))
    assert (after.colour, after.text_colour, after.banner_file_id) == (None, None, None)
    assert after.logo_file_id not in (None, brand.logo_file_id)
    landing = await visitor.get(f"/e/{edition.slug}")
    assert "brand.css" not in landing.text
    assert f'src="/files/images/{after.logo_file_id}/96"' in landing.text


async def test_a_refused_colour_shows_the_french_error_with_the_proposed_shade(  # type: ignore[no-untyped-def]
    app, client, session
):
    organiser = await f.user(session, Role.ORGANISER)  # French
    edition = await f.edition(session, by=organiser)
    await db.commit(session)
    await login(client, organiser.email, f.PASSWORD)
    response = await save(client, edition.id, {"colour": "#f39200", "text": "#ffffff"})
    assert response.status_code == 422
    message = (
        "Le texte n'atteint pas un contraste de 4,5:1 sur cette couleur. "
        "Choisissez une teinte plus foncée, par exemple #ab6600."
    )
    shown = text(response.text)
    assert shown.count(message) == 2  # in the summary and by the field
    assert 'value="#f39200"' in response.text  # the submission shown again
    assert await read(app, select(EditionBrand)) == []
    wrong = await save(client, edition.id, {"colour": "bleu"})
    assert wrong.status_code == 422
    assert "Saisissez une couleur sous la forme # suivi de six chiffres hexadécimaux" in text(
        wrong.text
    )


async def test_a_stranger_organiser_is_refused(app, client, make_client, session):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    draft = await f.edition(session, publish=False)
    await as_user(client, session)  # organises neither
    path = f"/organiser/editions/{edition.id}/branding"
    assert (await client.get(path)).status_code == 403
    token = await csrf(client, "/organiser")
    posts = [
        (path, {"colour": "#000000"}),
        (f"{path}/partners", {"partner_name": "X"}),
        (f"/organiser/editions/{draft.id}/branding", {"colour": "#000000"}),
    ]
    codes = [(await client.post(p, data={"csrf_token": token, **d})).status_code for p, d in posts]
    assert codes == [403, 403, 404]
    candidate = make_client()
    await as_user(candidate, session, Role.CANDIDATE)
    assert (await candidate.get(path)).status_code == 403
    assert await read(app, select(EditionBrand)) == []


async def test_partners_added_reordered_removed_and_shown_by_the_partial(  # type: ignore[no-untyped-def]
    app, client, session
):
    organiser = await as_user(client, session)
    edition = await f.edition(session, by=organiser)
    await db.commit(session)
    base = f"/organiser/editions/{edition.id}/branding"
    for name, link in (("France Travail", "https://www.francetravail.fr"), ("Région", "")):
        token = await csrf(client, base)
        data = {"csrf_token": token, "partner_name": name, "partner_link": link}
        response = await client.post(f"{base}/partners", data=data, files={"partner_logo": png()})
        assert response.status_code == 303, response.text
    refused = await client.post(
        f"{base}/partners",
        data={"csrf_token": await csrf(client, base), "partner_name": "", "partner_link": "ftp:x"},
    )
    assert refused.status_code == 422
    assert "Enter a full web address starting with https://" in text(refused.text)
    assert "Choose the partner's logo." in text(refused.text)

    async def names() -> list[str]:
        rows = await read(
            app, select(EditionPartner).order_by(EditionPartner.position, EditionPartner.id)
        )
        return [p.name for p in rows]

    assert await names() == ["France Travail", "Région"]
    second = (await read(app, select(EditionPartner).where(EditionPartner.name == "Région")))[0]
    token = await csrf(client, base)
    moved = await client.post(
        f"{base}/partners/{second.id}/move", data={"csrf_token": token, "direction": "up"}
    )
    assert moved.status_code == 303
    assert await names() == ["Région", "France Travail"]

    async with app.state.read_sessions() as s:
        partners = await branding.partners(s, edition.id)
    html = (
        templating.env()
        .get_template("public/_partners.html")
        .render(
            partners=partners, url=lambda name, **p: f"/files/images/{p['file_id']}/{p['width']}"
        )
    )
    logos = re.findall(r'<img src="([^"]+)"[^>]* alt="([^"]+)"', html)
    assert logos == [(f"/files/images/{p.logo_file_id}/96", p.name) for p in partners]
    assert '<a href="https://www.francetravail.fr" rel="noopener">' in html
    assert templating.env().get_template("public/_partners.html").render(partners=[]).strip() == ""

    removed = await client.post(
        f"{base}/partners/{second.id}/remove", data={"csrf_token": await csrf(client, base)}
    )
    assert removed.status_code == 303
    assert await names() == ["France Travail"]
    # Someone else's partner id through this edition's path: not found.
    other = await f.edition(session, by=organiser)
    await db.commit(session)
    (kept,) = await read(app, select(EditionPartner))
    path = f"/organiser/editions/{other.id}/branding/partners/{kept.id}/remove"
    response = await client.post(path, data={"csrf_token": await csrf(client, base)})
    assert response.status_code == 404
    assert await names() == ["France Travail"]
    assert images.LOGO.widths == (96, 192)


IMG = re.compile(r"<img\b[^>]*>")
ATTRIBUTE = re.compile(r'\b(src|width|height)="([^"]*)"')


async def test_every_image_of_a_branded_edition_has_its_size(app, make_client, session):  # type: ignore[no-untyped-def]
    """Each <img> of the edition's public pages has a width and a height (its box in fair.css):
    the page does not move while the images load."""
    organiser = await f.user(session, Role.ORGANISER)
    edition = await f.edition(session, by=organiser)
    logo = await images.prepare(picture((300, 150)), images.LOGO, field="logo")
    banner = await images.prepare(picture((2000, 500), fmt="JPEG"), images.BANNER, field="b")
    brand = branding.BrandInput(colour="#1d6b35", logo=logo, banner=banner)
    await branding.update(session, edition, by=organiser, data=brand)
    await branding.add_partner(session, edition, by=organiser, name="Région", link="", logo=logo)
    booth, recruiter = await f.booth(session, edition_=edition)
    employer_logo = await images.store(
        session, owner_id=recruiter.id, filename="logo.png", prepared=logo
    )
    booth.employer.logo_file_id = employer_logo.id
    offer = await f.offer(session, booth_=booth)
    await db.commit(session)
    (saved,) = await read(app, select(EditionBrand))
    (partner,) = await read(app, select(EditionPartner))
    visitor = make_client()
    found = {}
    for path in (
        f"/e/{edition.slug}",
        f"/e/{edition.slug}/booths",
        f"/e/{edition.slug}/booths/{booth.id}",
        f"/offers/{offer.id}",
    ):
        page = await visitor.get(path)
        assert page.status_code == 200
        found[path] = [dict(ATTRIBUTE.findall(tag)) for tag in IMG.findall(page.text)]

    def img(file_id: int, variant: int, width: int, height: int) -> dict[str, str]:
        src = f"/files/images/{file_id}/{variant}"
        return {"src": src, "width": str(width), "height": str(height)}

    header = img(saved.logo_file_id, 96, 192, 48)
    assert found == {
        f"/e/{edition.slug}": [
            header,
            img(saved.banner_file_id, 720, 720, 180),
            img(partner.logo_file_id, 96, 160, 48),
        ],
        f"/e/{edition.slug}/booths": [header, img(employer_logo.id, 96, 56, 56)],
        f"/e/{edition.slug}/booths/{booth.id}": [header, img(employer_logo.id, 96, 80, 80)],
        f"/offers/{offer.id}": [header],
    }
    # The recruiter's own page of the employer shows the same logo in the same box.
    recruiter_client = make_client()
    await login(recruiter_client, recruiter.email, f.PASSWORD)
    mine = await recruiter_client.get(f"/recruiter/employers/{booth.employer_id}")
    tags = [dict(ATTRIBUTE.findall(tag)) for tag in IMG.findall(mine.text)]
    assert tags == [img(employer_logo.id, 96, 80, 80)]
