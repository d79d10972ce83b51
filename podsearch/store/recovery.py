"""The way back from a damaged generation: find the previous good one (readers fall back to
it, ``rollback`` makes it current), and verify an index as a whole (``podsearch verify``)."""

from __future__ import annotations

from pathlib import Path

from .layout import GENERATIONS, home_dir, resolve_index_dir
from .verify import VerifyReport, quick_check, read_manifest, verify_generation
from .writer import generations_in


def current_generation(index_dir: Path) -> Path | None:
    """The generation the index's symlink points at, or None (no index, dangling)."""
    try:
        return Path(resolve_index_dir(index_dir)).resolve(strict=True)
    except OSError:
        return None


def earlier_generations(index_dir: Path, current: Path | None = None) -> list[Path]:
    """The generations written before ``current`` (default: the current one), newest first."""
    gens = home_dir(index_dir) / GENERATIONS
    if not gens.is_dir():
        return []
    found = generations_in(gens)
    current = current or current_generation(index_dir)
    if current is not None and current in found:
        return found[found.index(current) + 1 :]
    return found


def previous_good(
    index_dir: Path, current: Path | None = None, *, full: bool = False
) -> Path | None:
    """The newest earlier generation that looks whole: its manifest reads and every file has
    its recorded size (``full``: every checksum and invariant holds too)."""
    for p in earlier_generations(index_dir, current):
        if full:
            if verify_generation(p).ok:
                return p
            continue
        try:
            manifest = read_manifest(p)
        except ValueError:
            continue
        if quick_check(p, manifest) is None:
            return p
    return None


def verify_index(index_dir: Path) -> tuple[VerifyReport, Path | None]:
    """The current generation's full check, and the previous good generation (verified)
    when the current one is damaged."""
    current = current_generation(index_dir)
    root = current if current is not None else resolve_index_dir(index_dir)
    report = verify_generation(root)
    if report.ok:
        return report, None
    return report, previous_good(index_dir, current, full=True)
