"""Helpers of the serve tests: the test library, the CLI, and a server on a free port of
127.0.0.1 run in a thread and stopped within a bounded time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from podsearch.cli.app import app
from podsearch.serve.server import Server

LIBRARY = Path(__file__).parents[1] / "fixtures" / "library"
runner = CliRunner()


def invoke(*args: str | Path) -> Any:
    return runner.invoke(app, [str(a) for a in args], catch_exceptions=False)


@contextmanager
def running(server: Server) -> Iterator[str]:
    """Run ``server`` in a thread until the block ends; yields its base URL."""
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    for _ in range(200):  # bounded: 10 s
        if server.uvicorn.started:
            break
        time.sleep(0.05)
    assert server.uvicorn.started, "the server did not start"
    host, port = server.server_address[:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()
        assert not thread.is_alive()


# Three timed utterances of a talk (speakers A, B, A), and a tone as its audio:
# (start, end, text).
TALK = [
    (0.0, 8.0, "Welcome to the lighthouse show, where we talk about keepers and their lamps."),
    (
        10.0,
        18.0,
        "The keeper climbed the tower every evening to trim the wick and polish the great lens.",
    ),
    (20.0, 28.0, "Fog horns replaced many lamps, but sailors still trusted the beam on the rock."),
]


def write_tone(path: Path, seconds: float = 30.0, rate: int = 8000) -> Path:
    """A mono 16-bit WAV of a 440 Hz tone: a real audio file a browser can play and seek."""
    import math
    import struct
    import wave

    frames = b"".join(
        struct.pack("<h", int(8000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(rate)
        w.writeframes(frames)
    return path


def write_talk(folder: Path, audio_url: str | None = None) -> Path:
    """An AssemblyAI transcript ``talk.json`` of TALK (with ``audio_url`` when given)."""
    import json

    folder.mkdir(parents=True, exist_ok=True)
    data: dict[str, Any] = {
        "utterances": [
            {"speaker": "AB"[i % 2], "start": int(s * 1000), "end": int(e * 1000), "text": t}
            for i, (s, e, t) in enumerate(TALK)
        ]
    }
    if audio_url:
        data["audio_url"] = audio_url
    path = folder / "talk.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    return path
