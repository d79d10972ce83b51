"""Real speech for the audio tests: espeak-ng speaks known sentences, Python's ``wave`` joins
them with known pauses (so every sentence's start and end are known exactly), PyAV converts
to other containers. Needs espeak-ng (``.ci/run`` installs it) and the ``audio`` extra."""

from __future__ import annotations

import shutil
import subprocess
import wave
from dataclasses import dataclass
from pathlib import Path

import pytest

RATE_WPM = 170  # espeak-ng words per minute: short audio, still clear to tiny.en


@dataclass
class Spoken:
    text: str
    start: float  # seconds from the file's beginning
    end: float


def require_speech_tools() -> None:
    """Skip (naming what to install) when espeak-ng or the audio extra is missing."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed: apt-get install -y espeak-ng")
    pytest.importorskip("faster_whisper", reason='the audio extra: pip install "podsearch[audio]"')


def speak(text: str, path: Path) -> None:
    """``text`` spoken to a 22.05 kHz mono 16-bit WAV file."""
    cmd = ["espeak-ng", "-v", "en-us", "-s", str(RATE_WPM), "-w", str(path), text]
    subprocess.run(cmd, check=True, capture_output=True, timeout=60)


def assemble(
    path: Path, sentences: list[str], *, lead: float = 1.0, pause: float = 1.5
) -> list[Spoken]:
    """One WAV of the sentences after ``lead`` seconds of silence, ``pause`` seconds apart;
    returns where each is spoken."""
    spoken: list[Spoken] = []
    parts: list[bytes] = []
    params = None
    t = lead
    for i, text in enumerate(sentences):
        part = path.with_name(f".{path.stem}-{i}.wav")
        speak(text, part)
        with wave.open(str(part), "rb") as w:
            params = w.getparams()
            frames = w.readframes(w.getnframes())
            seconds = w.getnframes() / w.getframerate()
        part.unlink()
        spoken.append(Spoken(text, round(t, 3), round(t + seconds, 3)))
        parts.append(frames)
        t += seconds + pause
    assert params is not None
    silence = b"\x00" * params.sampwidth * params.nchannels
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        out.writeframes(silence * int(lead * params.framerate))
        for frames in parts:
            out.writeframes(frames + silence * int(pause * params.framerate))
    return spoken


def silence(path: Path, seconds: float, rate: int = 16000) -> None:
    """A WAV of digital silence."""
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x00" * int(seconds * rate))


def convert(src: Path, dst: Path, codec: str, rate: int | None = None) -> None:
    """Re-encode ``src`` into ``dst``'s container with ``codec`` (e.g. libopus in .ogg)."""
    import av

    with av.open(str(src)) as inp, av.open(str(dst), "w") as out:
        ist = inp.streams.audio[0]
        ost = out.add_stream(codec, rate=rate or ist.rate)
        ost.layout = "mono"
        resampler = av.AudioResampler(format=ost.format.name, layout="mono", rate=ost.rate)
        for frame in [*inp.decode(ist), None]:
            for f in resampler.resample(frame):
                for packet in ost.encode(f):
                    out.mux(packet)
        for packet in ost.encode(None):
            out.mux(packet)
