"""fair.media.recorder and Stages.record: an aiortc presenter, the relay (or a stage), a WebM
file; the file is then opened and decoded with PyAV. Peers and helpers: tests/media_setup.py.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import av
from aiortc import RTCSessionDescription

from fair import settings
from fair.media.recorder import WRAP, Recorder, StreamClock, vp8_size
from fair.media.stage import Stages
from tests.media_setup import (
    HEIGHT,
    ROOM,
    WIDTH,
    Stage,
    camera_and_microphone,
    media_servers,
    peer,
    until,
    web_processes,
)


def decoded(path: Path) -> dict[str, Any]:
    """Decode the whole file: picture sizes, audio samples and the last times of each kind."""
    found: dict[str, Any] = {"sizes": set(), "video": 0, "audio": 0, "samples": 0}
    found["last"] = {"video": 0.0, "audio": 0.0}
    with av.open(str(path)) as container:
        assert container.format.name.startswith("matroska")  # "matroska,webm" on reading
        kinds = {s.index: s.type for s in container.streams}
        assert sorted(kinds.values()) == ["audio", "video"]
        for packet in container.demux():
            kind = kinds[packet.stream.index]
            for frame in packet.decode():
                found[kind] += 1
                if kind == "video":
                    found["sizes"].add((frame.width, frame.height))
                else:
                    found["samples"] += frame.samples
                if frame.time is not None:
                    found["last"][kind] = max(found["last"][kind], frame.time)
    return found


async def test_a_publication_is_recorded_to_a_webm_file_that_decodes(
    stage: Stage,
    tmp_path: Path,
    encoders: dict[str, set[int]],
) -> None:
    path = tmp_path / "sub" / "talk.webm"
    recorder = Recorder(str(path))
    await asyncio.sleep(0.5)  # the presenter is sending: the recorder joins mid-stream
    stage.relay.add_sink(recorder.push)
    stage.relay.request_keyframe()
    started = time.monotonic()
    await until(lambda: recorder.frames["video"] >= 1, 5)
    await asyncio.sleep(2.5)
    stage.relay.remove_sink(recorder.push)
    recorded = time.monotonic() - started
    size, seconds = await recorder.stop()

    assert size == path.stat().st_size > 10_000
    assert abs(seconds - recorded) <= 1
    found = decoded(path)
    assert found["sizes"] == {(WIDTH, HEIGHT)}
    assert found["video"] == recorder.frames["video"] >= 2.5 * 20  # aiortc sends ~30 fps
    assert found["samples"] >= 2.0 * 48000
    assert abs(found["last"]["video"] - recorded) <= 1
    assert abs(found["last"]["audio"] - found["last"]["video"]) <= 0.5  # in step
    # Nothing was decoded or encoded on the way (the file is the presenter's own frames).
    assert {kind: len(ids) for kind, ids in encoders.items()} == {"video": 1, "audio": 1}
    assert await recorder.stop() == (0, 0)  # stopping twice is harmless


async def test_nothing_is_written_before_a_keyframe(tmp_path: Path) -> None:
    recorder = Recorder(str(tmp_path / "none.webm"))
    interframe = av.Packet(b"\x01" + bytes(30))
    interframe.pts = 1
    recorder.push("video", interframe, False)
    recorder.push("audio", av.Packet(b"\xfc" + bytes(10)), True)
    assert await recorder.stop() == (0, 0)
    assert not (tmp_path / "none.webm").exists()


def test_rtp_timestamps_unwrap_across_2_32() -> None:
    clock = StreamClock(90000)
    start = WRAP - 3000
    assert clock.seconds(start, 1.0) == 1.0
    assert clock.seconds(start + 1500, 9.0) == 1.0 + 1500 / 90000  # follows the RTP clock
    assert clock.seconds(1500, 9.0) == 1.0 + 4500 / 90000  # wrapped: still forward
    assert clock.seconds(WRAP - 1000, 9.0) == 1.0 + 2000 / 90000  # a late frame: backward
    assert clock.seconds(90000 + 1500, 9.0) == 1.0 + 94500 / 90000


def test_vp8_size_reads_keyframes_only() -> None:
    keyframe = bytes([0x10, 0x02, 0x00, 0x9D, 0x01, 0x2A, 0x80, 0x02, 0x68, 0x01])
    assert vp8_size(keyframe) == (640, 360)
    assert vp8_size(bytes([0x11]) + keyframe[1:]) is None
    assert vp8_size(b"\x00") is None


async def publish(stages: Stages, room: str, key: str, source: str = "camera") -> Any:
    presenter = peer()
    tracks = camera_and_microphone()
    for track in tracks if source == "camera" else tracks[1:]:
        presenter.addTrack(track)
    await presenter.setLocalDescription(await presenter.createOffer())
    answer = await stages.publish(
        room, key, presenter.localDescription.sdp, info={"name": key, "source": source}
    )
    await presenter.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
    return presenter


async def test_a_stage_records_its_camera_and_follows_a_new_one(
    loopback_only: None,
    tmp_path: Path,
) -> None:
    stages, room = Stages([]), "webconference:1"
    path = tmp_path / "recordings" / "1.webm"
    screen = await publish(stages, room, "a:screen", source="screen")
    first = await publish(stages, room, "a")
    await stages.record(room, str(path))
    await stages.record(room, str(tmp_path / "ignored.webm"))  # one file at a time
    recording = stages.stages[room].recording
    assert recording is not None and recording.key == "a"  # the camera, not the screen
    await until(lambda: recording.recorder.frames["video"] >= 30, 10)

    # The camera leaves; another presenter's camera takes over in the same file.
    await stages.leave(room, "a")
    await first.close()
    assert recording.key is None and room in stages.stages
    second = await publish(stages, room, "b")
    assert recording.key == "b"
    frames = recording.recorder.frames["video"]
    await until(lambda: recording.recorder.frames["video"] >= frames + 30, 10)

    result = await stages.stop_recording(room)
    assert result["bytes"] == path.stat().st_size > 10_000 and result["seconds"] >= 2
    assert stages.stages[room].recording is None
    assert await stages.stop_recording(room) == {"bytes": 0, "seconds": 0}
    found = decoded(path)
    assert found["sizes"] == {(WIDTH, HEIGHT)} and found["audio"] > 0
    assert not (tmp_path / "ignored.webm").exists()

    # `end` closes a recording too; its result is still there for the talk's end.
    await stages.record(room, str(tmp_path / "2.webm"))
    await until(lambda: (tmp_path / "2.webm").exists(), 10)
    await asyncio.sleep(0.5)
    await stages.end(room)
    assert room not in stages.stages
    result = await stages.stop_recording(room)
    assert result["bytes"] == (tmp_path / "2.webm").stat().st_size > 0
    assert decoded(tmp_path / "2.webm")["video"] > 0
    for pc in (screen, second):
        await pc.close()
    await stages.close()


async def test_recording_goes_through_a_media_process(
    media_conf: settings.Settings,
    loopback_only: None,
    tmp_path: Path,
) -> None:
    """`record` and `stop_recording` reach the room's `fair media` process by name, as every
    Stages method does (fair.media.remote); the file is written there."""
    path = tmp_path / "remote.webm"
    async with media_servers(media_conf, 1) as servers, web_processes(media_conf, 1) as (web,):
        presenter = peer()
        for track in camera_and_microphone():
            presenter.addTrack(track)
        await presenter.setLocalDescription(await presenter.createOffer())
        answer = await web.publish(ROOM, "a", presenter.localDescription.sdp, info={})
        await presenter.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await web.record(ROOM, str(path))
        stages = servers[0].host.stages
        recording = stages.stages[ROOM].recording
        assert recording is not None and recording.key == "a"
        await until(lambda: recording.recorder.frames["video"] >= 30, 10)
        result = await web.stop_recording(ROOM)
        assert result == {"bytes": path.stat().st_size, "seconds": result["seconds"]}
        assert result["bytes"] > 10_000 and result["seconds"] >= 1
        await web.end(ROOM)
        await presenter.close()
    assert decoded(path)["sizes"] == {(WIDTH, HEIGHT)}
