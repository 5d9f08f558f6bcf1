"""The public booth page's description and presentation video, and the recruiter's offer filter."""

from __future__ import annotations

import re

import pytest

from fair import db, employers, videos
from fair.videos import Embed
from tests import factories as f
from tests.conftest import login

YT = "https://www.youtube-nocookie.com/embed/"
VIMEO = "https://player.vimeo.com/video/"
UNLISTED = VIMEO + "76979871?dnt=1&h=8a2b4c6d8e"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://www.youtube.com/watch?v=dQw4w9WgXcQ", Embed(YT + "dQw4w9WgXcQ", "YouTube")),
        ("https://youtube.com/watch?v=dQw4w9WgXcQ&t=42s", Embed(YT + "dQw4w9WgXcQ", "YouTube")),
        ("https://m.youtube.com/watch?v=dQw4w9WgXcQ", Embed(YT + "dQw4w9WgXcQ", "YouTube")),
        ("https://youtu.be/dQw4w9WgXcQ?si=abc", Embed(YT + "dQw4w9WgXcQ", "YouTube")),
        ("https://www.youtube.com/shorts/dQw4w9WgXcQ", Embed(YT + "dQw4w9WgXcQ", "YouTube")),
        ("https://youtube-nocookie.com/embed/dQw4w9WgXcQ", Embed(YT + "dQw4w9WgXcQ", "YouTube")),
        ("https://vimeo.com/76979871", Embed(VIMEO + "76979871?dnt=1", "Vimeo")),
        ("https://vimeo.com/76979871/8a2b4c6d8e", Embed(UNLISTED, "Vimeo")),
        ("https://player.vimeo.com/video/76979871", Embed(VIMEO + "76979871?dnt=1", "Vimeo")),
        ("http://www.youtube.com/watch?v=dQw4w9WgXcQ", None),  # not https
        ("https://www.youtube.com/watch?v=dQw4w9WgXc%22", None),  # not an id
        ("https://www.youtube.com/playlist?list=PL123", None),
        ("https://www.youtube.com.evil.example/watch?v=dQw4w9WgXcQ", None),
        ("https://vimeo.com/channels/staffpicks", None),
        ("https://www.dailymotion.com/video/x8abcd1", None),  # no cookie-free player: a link
        ("javascript:alert(1)", None),
        ("https://[::1", None),
    ],
)
def test_only_cookie_free_players_are_embedded(url: str, expected: Embed | None) -> None:
    assert videos.embed(url) == expected


async def _booth_with(session, *, description: str, video_url: str):  # type: ignore[no-untyped-def]
    edition = await f.edition(session)
    booth, _recruiter = await f.booth(session, edition_=edition)
    employer = await employers.get(session, booth.employer_id)
    data = employers.EmployerInput(
        name=employer.name,
        siret=employer.siret,
        naf_code=employer.naf_code,
        size=employer.size,
        commune=employer.commune,
        website="",
        description=description,
        video_url=video_url,
    )
    await employers.update(session, employer, data=data)
    await db.commit(session)
    return f"/e/{edition.slug}/booths/{booth.id}", employer.name


async def test_booth_keeps_line_breaks_escaped_and_embeds_the_video(client, session):
    path, name = await _booth_with(
        session,
        description="Nous recrutons :\n- des électriciens\n- des <b>caristes</b>",
        video_url="https://www.youtube.com/watch?v=dQw4w9WgXcQ",
    )

    page = await client.get(path)

    assert page.status_code == 200
    description = "Nous recrutons :\n- des électriciens\n- des &lt;b&gt;caristes&lt;/b&gt;"
    assert f'<p class="note">{description}</p>' in page.text
    [frame] = re.findall(r"<iframe [^>]*>", page.text)
    assert frame == (
        '<iframe src="https://www.youtube-nocookie.com/embed/dQw4w9WgXcQ" '
        f'title="Vidéo de présentation de {name} (YouTube)" loading="lazy" '
        'allow="fullscreen; picture-in-picture; encrypted-media" allowfullscreen '
        'referrerpolicy="strict-origin-when-cross-origin" '
        'sandbox="allow-scripts allow-same-origin allow-presentation allow-popups">'
    )
    assert "youtube.com/watch" not in page.text  # the player replaces the link
    csp = page.headers["content-security-policy"]
    assert "frame-src https://www.youtube-nocookie.com https://player.vimeo.com" in csp.split("; ")


async def test_video_of_an_unknown_host_is_a_plain_link(client, session):
    path, _name = await _booth_with(
        session, description="", video_url="https://www.dailymotion.com/video/x8abcd1"
    )

    page = await client.get(path)

    assert "<iframe" not in page.text
    assert (
        '<a href="https://www.dailymotion.com/video/x8abcd1" rel="noopener noreferrer">'
        "Vidéo de présentation</a>"
    ) in page.text


async def test_offer_filter_tells_offers_of_the_same_title_apart(client, session):
    edition = await f.edition(session)
    booth, recruiter = await f.booth(session, edition_=edition)
    lattes = await f.offer(
        session, booth_=booth, title="Cariste (H/F)", commune="Lattes", postcode="34970"
    )
    nimes = await f.offer(
        session, booth_=booth, title="Cariste (H/F)", commune="Nîmes", postcode="30000"
    )
    await db.commit(session)
    client.cookies.set("lang", "en")
    await login(client, recruiter.email, f.PASSWORD)

    page = await client.get(f"/recruiter/booths/{booth.id}/applications")

    day = lattes.created_at.strftime("%-m/%-d/%y")
    options = re.findall(r'<option value="(\d+)"[^>]*>([^<]*)</option>', page.text)
    assert sorted(options) == [
        (str(lattes.id), f"Cariste (H/F) — ref. {lattes.id}, Lattes, {day}"),
        (str(nimes.id), f"Cariste (H/F) — ref. {nimes.id}, Nîmes, {day}"),
    ]
