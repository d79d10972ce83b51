#!/usr/bin/env python3
"""Benchmark podsearch end to end on growing slices of a VTT corpus; print one table.

Usage:
  python scripts/bench.py [--sizes 5,20] [--corpus DIR] [--work DIR] [--faiss flat,hnsw,ivf]
                          [--precision fp32|int8] [--transcribe-minutes M [--asr-beam B]]

For each size N (the first N episodes of the corpus, in episode order) it measures, each in a
fresh process like a user would run it:

- build: ``podsearch index`` of the N files into a new index (wall time, passages/s, peak RSS
  of that process), and the ratio of that rate to the model's raw encode rate
  (``SentenceTransformer.encode``, batch 32, measured here on up to --raw-sample passages of
  the same index);
- the index's size on disk (its generation folder; the model's ONNX export is a per-model
  cache shared by all indexes and counted apart);
- cold ``podsearch ask --json`` (median of --cold-runs), warm latency through
  ``podsearch serve`` (p50/p95 of --warm-queries HTTP queries), re-index of the unchanged
  files;
- FAISS on the index's real vectors, for each index type: build time, size, single-query
  latency and recall@10 against exact search, with questions embedded by the query model.

With ``--transcribe-minutes M`` (off by default: it adds a minute or more), a transcription
row: espeak-ng speaks at least M minutes of sentences taken from the corpus into one WAV, the
``audio`` extra's bundled ``tiny.en`` (int8 on the CPU) transcribes it the way ``podsearch
index`` does, and the row gives the model load time, audio seconds per wall second (the
real-time factor), and the process's CPU time over the same stretch (user + system: on a shared
machine the wall time says how busy the other processes kept the cores, CPU time what the
transcription itself cost).

Also ``python -c "import sentence_transformers"`` (median of --import-runs), the yardstick of
the cold-start budget. The default run (sizes 5,20) takes a few minutes on 2 cores; the full
corpus is ``--sizes 10,40,160,309``.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402

from podsearch.store.index import Index  # noqa: E402
from podsearch.store.vectors.approximate import EF_SEARCH  # noqa: E402
from podsearch.store.vectors.factory import create  # noqa: E402

DEFAULT_CORPUS = ROOT.parent / "shared" / "corpora" / "seenunseen" / "transcripts_vtt"
DEV_QUERIES = ROOT.parent / "shared" / "eval" / "dev" / "queries.jsonl"
QUESTIONS = [
    "what did they say about the license raj",
    "how does inflation affect the poor",
    "why are Indian cities so badly planned",
    "what is the role of the state in education",
    "the problem with farm subsidies",
    "what did the guest say about free speech",
    "how do markets help the poor",
    "regulation of startups in India",
    "what happened in 1991",
    "the tragedy of the commons",
]


def podsearch_cmd() -> list[str]:
    """The installed console script next to this interpreter, else ``python -m podsearch``."""
    script = Path(sys.executable).parent / "podsearch"
    return [str(script)] if script.exists() else [sys.executable, "-m", "podsearch"]


def run_child(cmd: list[str], timeout: float = 7200) -> tuple[float, int, str, str]:
    """(wall seconds, peak RSS in MB, stdout, stderr) of a fresh process; raises on failure."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    out, err = proc.communicate(timeout=timeout)
    wall = time.perf_counter() - t0
    # The child is reaped by communicate(); its own peak RSS comes from wait4 only before
    # that, so take the running maximum over all children (builds are the largest ones).
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss // 1024
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{err[-2000:]}")
    return wall, peak, out, err


def run_measured(cmd: list[str], timeout: float = 7200) -> tuple[float, int, str, str]:
    """Like run_child, with the peak RSS of this very process (os.wait4)."""
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, text=True)
        deadline = t0 + timeout
        while True:
            pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            if time.perf_counter() > deadline:
                proc.kill()
                raise TimeoutError(" ".join(cmd))
            time.sleep(0.02)
        wall = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read(), err.read()
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{stderr[-2000:]}")
    return wall, usage.ru_maxrss // 1024, stdout, stderr


def episode_number(path: Path) -> int:
    m = re.search(r"(\d+)", path.name)
    return int(m.group(1)) if m else 0


def make_library(corpus: Path, n: int, work: Path) -> Path:
    files = sorted(corpus.glob("*.vtt"), key=episode_number)[:n]  # main() checked there are n
    lib = work / f"lib-{n}"
    lib.mkdir(parents=True, exist_ok=True)
    for f in files:
        link = lib / f.name
        if not link.exists():
            link.symlink_to(f.resolve())
    return lib


def du(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file())


def import_st_seconds(runs: int) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import sentence_transformers"], check=True)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


class RawEncoder:
    """sentence-transformers itself, loaded once in this process: the reference rate."""

    def __init__(self) -> None:
        from podsearch.embed.st_backend import SentenceTransformerEmbedder

        self.model = SentenceTransformerEmbedder("default", device="cpu").load()

    def rate(self, texts: list[str]) -> float:
        self.model.encode(texts[:32], batch_size=32)
        t0 = time.perf_counter()
        self.model.encode(texts, batch_size=32, normalize_embeddings=True, convert_to_numpy=True)
        return len(texts) / (time.perf_counter() - t0)


def questions() -> list[str]:
    qs = list(QUESTIONS)
    if DEV_QUERIES.exists():
        qs += [json.loads(line)["query"] for line in DEV_QUERIES.open() if line.strip()]
    return qs


def cold_ask(index: Path, runs: int) -> float:
    qs = questions()
    times = []
    for i in range(runs):
        wall, _, out, _ = run_child(
            [*podsearch_cmd(), "ask", qs[i % len(qs)], "--index", str(index), "--json"]
        )
        json.loads(out)
        times.append(wall)
    return statistics.median(times)


def warm_latency(index: Path, n: int) -> tuple[float, float]:
    """(p50, p95) in ms of n questions through a fresh `podsearch serve` over HTTP."""
    proc = subprocess.Popen(
        [*podsearch_cmd(), "serve", "--index", str(index), "--port", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        url = None
        deadline = time.monotonic() + 120
        while url is None and time.monotonic() < deadline:
            line = proc.stderr.readline() if proc.stderr else ""
            if not line and proc.poll() is not None:
                raise RuntimeError("podsearch serve exited")
            m = re.search(r"(http://[\d.]+:\d+)", line)
            url = m.group(1) if m else None
        if url is None:
            raise RuntimeError("podsearch serve did not start")
        qs = questions()
        times = []
        for i in range(n):
            q = urllib.parse.urlencode({"q": qs[i % len(qs)], "top": 10})
            t0 = time.perf_counter()
            with urllib.request.urlopen(f"{url}/ask?{q}", timeout=60) as resp:
                json.loads(resp.read())
            times.append(1000 * (time.perf_counter() - t0))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(0.95 * len(times)))]


def faiss_rows(index: Path, kinds: list[str], k: int = 10) -> list[dict[str, Any]]:
    """Build each vector index type on the index's vectors, through the same seam as
    ``ask``; latency and recall@k vs exact search."""
    import tempfile

    from podsearch.embed.factory import load_query_embedder

    idx = Index(index)
    vectors = np.ascontiguousarray(idx.vectors(), dtype=np.float32)
    embedder = load_query_embedder(idx.model)
    texts = idx.read_table("passages.parquet", ["text"]).column(0).to_pylist()
    rng = random.Random(0)
    # Real questions, plus the opening words of random passages as look-alike questions.
    qtexts = questions() + [" ".join(t.split()[:12]) for t in rng.sample(texts, 60)]
    queries = embedder.encode(qtexts)
    exact = np.argsort(-(queries @ vectors.T), axis=1, kind="stable")[:, :k]
    rows = []
    numpy_times = []
    for q in queries:
        t0 = time.perf_counter()
        idx.nearest(q, k)
        numpy_times.append(1000 * (time.perf_counter() - t0))
    rows.append(
        {
            "kind": "numpy exact (ask's path)",
            "build_s": 0.0,
            "mb": vectors.nbytes / 1e6,
            "ms": statistics.median(numpy_times),
            "recall": 1.0,
        }
    )
    for kind in kinds:
        t0 = time.perf_counter()
        vi = create(kind, vectors.shape[1], len(vectors))
        vi.add(vectors)
        vi.search(queries[0], k)  # builds the search structure
        build_s = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            vi.save(Path(tmp))
            size = sum(f.stat().st_size for f in Path(tmp).iterdir())
        found, times = [], []
        for q in queries:
            t0 = time.perf_counter()
            hits = vi.search(q, k)
            times.append(1000 * (time.perf_counter() - t0))
            found.append([r for r, _ in hits])
        recall = float(
            np.mean([len(set(f) & set(e)) / k for f, e in zip(found, exact, strict=True)])
        )
        params = ", ".join(f"{key}={value}" for key, value in vi.params().items())
        label = kind + (f" ({params})" if params else "")
        rows.append(
            {
                "kind": label,
                "build_s": build_s,
                "mb": size / 1e6,
                "ms": statistics.median(times),
                "recall": recall,
            }
        )
    return rows


def speech_sentences(corpus: Path, limit: int) -> list[str]:
    """Plain sentences of 8-25 words from the corpus's VTT files (or a fixed few)."""
    out: list[str] = []
    for path in sorted(corpus.glob("*.vtt"))[:3]:
        text = " ".join(
            line
            for line in path.read_text("utf-8", errors="replace").splitlines()
            if line and "-->" not in line and not line.startswith(("WEBVTT", "NOTE"))
        )
        text = re.sub(r"<[^>]+>", " ", text)
        for sentence in re.split(r"(?<=[.?!])\s+", text):
            if 8 <= len(sentence.split()) <= 25 and re.fullmatch(r"[\w ,.'?!-]+", sentence):
                out.append(sentence)
            if len(out) >= limit:
                return out
    base = [
        "The lighthouse keeper counted forty ships passing the northern rocks every winter.",
        "Cricket boards fear private leagues because the best players follow the money.",
        "Sourdough needs a long cold rest in the fridge before it is baked.",
        "Inflation hurts the poor most, because they hold their savings in cash.",
    ]
    return out or base * (limit // len(base) + 1)


def make_speech(path: Path, minutes: float, corpus: Path) -> float:
    """A WAV of at least ``minutes`` of espeak-ng speech (0.7 s pauses); its length in s."""
    import wave

    sentences = speech_sentences(corpus, 2000)
    frames: list[bytes] = []
    seconds, params, i = 0.0, None, 0
    part = path.with_suffix(".part.wav")
    while seconds < minutes * 60 and i < 10 * len(sentences):  # bounded: sentences repeat
        batch = " ".join(sentences[i % len(sentences) : i % len(sentences) + 8])
        i += 8
        subprocess.run(
            ["espeak-ng", "-v", "en-us", "-s", "165", "-w", str(part), batch],
            check=True,
            timeout=300,
        )
        with wave.open(str(part), "rb") as w:
            params = w.getparams()
            frames.append(w.readframes(w.getnframes()))
            seconds += w.getnframes() / w.getframerate() + 0.7
            frames.append(b"\x00\x00" * int(0.7 * w.getframerate()))
    part.unlink(missing_ok=True)
    assert params is not None
    with wave.open(str(path), "wb") as out:
        out.setparams(params)
        out.writeframes(b"".join(frames))
    return seconds


def transcription_row(minutes: float, beam: int | None, corpus: Path, work: Path) -> dict:
    """Load tiny.en, transcribe >= ``minutes`` of speech; wall and CPU time of each."""
    from podsearch.ingest import audio

    if beam is not None:
        audio.BEAM_SIZE = beam
    wav = work / "speech.wav"
    audio_s = make_speech(wav, minutes, corpus)
    transcriber = audio.Transcriber()
    transcriber.load()
    usage0, t0 = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    data = transcriber._run(wav, wav.name)
    wall = time.perf_counter() - t0
    usage1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (usage1.ru_utime - usage0.ru_utime) + (usage1.ru_stime - usage0.ru_stime)
    words = sum(len(seg["words"]) for seg in data["segments"])
    return {
        "audio_s": round(audio_s, 1),
        "load_s": round(transcriber.load_seconds or 0.0, 2),
        "wall_s": round(wall, 1),
        "rtf": round(audio_s / wall, 1),
        "cpu_s": round(cpu, 1),
        "cpu_rtf": round(audio_s / cpu, 1),
        "words": words,
        "beam": audio.BEAM_SIZE,
    }


def synthetic_vectors(source: np.ndarray, n: int, noise: float, seed: int = 0) -> np.ndarray:
    """``n`` unit vectors: real passage vectors repeated, each copy moved by Gaussian noise of
    total norm ``noise`` (1.0 ~ 45 degrees) so copies are neighbours, not duplicates."""
    rng = np.random.default_rng(seed)
    out = np.empty((n, source.shape[1]), np.float32)
    for lo in range(0, n, 100_000):  # in blocks: memory stays one copy of the result
        hi = min(n, lo + 100_000)
        block = source[rng.integers(0, len(source), hi - lo)]
        block = block + rng.standard_normal(block.shape, dtype=np.float32) * (
            noise / np.sqrt(source.shape[1])
        )
        out[lo:hi] = block / np.linalg.norm(block, axis=1, keepdims=True)
    return out


def synthetic_rows(
    source_index: Path, n: int, kinds: list[str], queries: int = 200, k: int = 10
) -> list[dict[str, Any]]:
    """Each vector index type on ``n`` synthetic vectors made from an index's real ones:
    build time, file size, the process's peak RSS so far (the vectors, the exact ground
    truth and every index built before count too), single-query p50/p95 and recall@k vs
    exact search. The queries are ``queries`` real passage vectors held out of the seeds
    (not noisy copies of a seed, whose neighbours would be their own siblings: too easy)."""
    import resource

    real = np.ascontiguousarray(Index(source_index).vectors(), dtype=np.float32)
    held_out = np.random.default_rng(1).permutation(len(real))[:queries]
    qs = real[held_out]
    vectors = synthetic_vectors(np.delete(real, held_out, axis=0), n, noise=1.0)
    exact = np.zeros((queries, k), np.int64)
    for lo in range(0, queries, 50):  # exact top k in blocks of queries
        sims = qs[lo : lo + 50] @ vectors.T
        exact[lo : lo + 50] = np.argsort(-sims, axis=1, kind="stable")[:, :k]
    rows = []
    for kind in kinds:
        t0 = time.perf_counter()
        vi = create(kind, vectors.shape[1], n)
        vi.add(vectors)
        vi.search(qs[0], k)  # builds the search structure
        build_s = time.perf_counter() - t0
        with tempfile.TemporaryDirectory() as tmp:
            vi.save(Path(tmp))
            size = sum(f.stat().st_size for f in Path(tmp).iterdir())
        # HNSW: the same graph searched at several breadths (efSearch is a search setting).
        sweep = [None] if kind != "hnsw" else sorted({128, EF_SEARCH, 256, 384})
        for ef in sweep:
            if ef is not None:
                vi._params["efSearch"] = ef
            times, found = [], []
            for q in qs:
                t0 = time.perf_counter()
                found.append([r for r, _ in vi.search(q, k)])
                times.append(1000 * (time.perf_counter() - t0))
            times.sort()
            recall = float(
                np.mean([len(set(f) & set(e)) / k for f, e in zip(found, exact, strict=True)])
            )
            params = ", ".join(f"{key}={value}" for key, value in vi.params().items())
            rows.append(
                {
                    "kind": kind + (f" ({params})" if params else ""),
                    "build_s": build_s,
                    "file_mb": size / 1e6,
                    "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024,
                    "p50_ms": times[len(times) // 2],
                    "p95_ms": times[int(0.95 * (len(times) - 1))],
                    "recall": recall,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
        del vi
    return rows


def run_synthetic(n: int, source_index: Path, kinds: list[str]) -> int:
    """``--synthetic N``: the vector-index table only, at N passages."""
    print(
        f"synthetic {n} vectors from the real vectors of {source_index} (repeated, noise 1.0); "
        "queries: held-out real passage vectors"
    )
    print(f"machine: {os.cpu_count()} CPUs", flush=True)
    rows = synthetic_rows(source_index, n, kinds)
    print(
        f"\n  {'index':<46} {'build s':>7} {'file MB':>7} {'peak RSS MB':>11} {'p50 ms':>7} "
        f"{'p95 ms':>7} {'recall@10':>9}"
    )
    for t in rows:
        print(
            f"  {t['kind']:<46} {t['build_s']:>7.1f} {t['file_mb']:>7.0f} "
            f"{t['peak_rss_mb']:>11} {t['p50_ms']:>7.2f} {t['p95_ms']:>7.2f} "
            f"{t['recall']:>9.3f}"
        )
    return 0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--sizes", default="5,20", help="episode counts, e.g. 10,40,160,309")
    ap.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    ap.add_argument("--work", type=Path, help="folder for libraries and indexes [temporary]")
    ap.add_argument("--faiss", default="flat,hnsw,ivf", help="FAISS index types to compare")
    ap.add_argument("--raw-sample", type=int, default=512, help="passages for the raw rate")
    ap.add_argument("--cold-runs", type=int, default=5)
    ap.add_argument("--warm-queries", type=int, default=50)
    ap.add_argument("--import-runs", type=int, default=3)
    ap.add_argument("--precision", default="fp32", help="passage vectors: fp32 or int8")
    ap.add_argument(
        "--transcribe-minutes",
        type=float,
        default=0.0,
        help="add a transcription row over this many minutes of espeak-ng speech [off]",
    )
    ap.add_argument("--asr-beam", type=int, help="beam size for that row [podsearch's]")
    ap.add_argument(
        "--transcribe-only", action="store_true", help="only the transcription row (quick)"
    )
    ap.add_argument("--synthetic", type=int, help="only the vector-index table, at N vectors")
    ap.add_argument("--synthetic-from", type=Path, help="an index whose vectors seed --synthetic")
    a = ap.parse_args()
    if a.synthetic:
        if a.synthetic_from is None:
            raise SystemExit("--synthetic needs --synthetic-from INDEX (real vectors to perturb)")
        return run_synthetic(a.synthetic, a.synthetic_from, [k for k in a.faiss.split(",") if k])
    if a.transcribe_only:
        work = a.work or Path(tempfile.mkdtemp(prefix="podsearch-bench-"))
        work.mkdir(parents=True, exist_ok=True)
        print_transcription(
            transcription_row(a.transcribe_minutes or 5, a.asr_beam, a.corpus, work)
        )
        if a.work is None:
            shutil.rmtree(work, ignore_errors=True)
        return 0
    sizes = [int(s) for s in a.sizes.split(",") if s.strip()]
    available = len(list(a.corpus.glob("*.vtt")))
    if available < max(sizes):
        # Before the minutes of measuring below, not after them.
        raise SystemExit(f"{a.corpus} has {available} VTT files, fewer than {max(sizes)}")
    work = a.work or Path(tempfile.mkdtemp(prefix="podsearch-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    kinds = [k for k in a.faiss.split(",") if k]
    print(f"podsearch bench: sizes {sizes}, corpus {a.corpus}, work {work}", flush=True)
    print(f"machine: {os.cpu_count()} CPUs, python {sys.version.split()[0]}", flush=True)
    print(f"passage vectors: {a.precision}", flush=True)

    st_import = import_st_seconds(a.import_runs)
    print(f'python -c "import sentence_transformers": {st_import:.2f} s', flush=True)
    # The model's ONNX export (and int8 quantization) is made once per model and cached: made
    # here, on one episode, so that the builds below measure indexing, not that.
    warm_ix = work / "ix-warmup"
    precision = ["--precision", a.precision]
    one = make_library(a.corpus, 1, work)
    prep_s, _, _, _ = run_child(
        [*podsearch_cmd(), "index", str(one), "--index", str(warm_ix), *precision]
    )
    print(f"model preparation (first index of 1 episode; exports if not cached): {prep_s:.1f} s")
    raw = RawEncoder()
    rows, faiss_tables = [], {}
    for n in sizes:
        lib = make_library(a.corpus, n, work)
        ix = work / f"ix-{n}"
        if ix.exists() or ix.is_symlink():
            shutil.rmtree(work / f".ix-{n}.podsearch", ignore_errors=True)
            ix.unlink() if ix.is_symlink() else shutil.rmtree(ix)
        build_s, build_rss, out, _ = run_measured(
            [*podsearch_cmd(), "index", str(lib), "--index", str(ix), "--json", *precision]
        )
        report = json.loads(out)
        passages = report["passages_total"]
        texts = Index(ix).read_table("passages.parquet", ["embed_text"]).column(0).to_pylist()
        sample = random.Random(n).sample(texts, min(a.raw_sample, len(texts)))
        raw_rate = raw.rate(sample)
        cold = cold_ask(ix, a.cold_runs)
        p50, p95 = warm_latency(ix, a.warm_queries)
        reindex_s, _, _, _ = run_measured(
            [*podsearch_cmd(), "index", str(lib), "--index", str(ix), "--json"]
        )
        row = {
            "episodes": n,
            "passages": passages,
            "build_s": build_s,
            "rate": passages / build_s,
            "raw_rate": raw_rate,
            "in_process_s": report.get("seconds", float("nan")),
            "disk_mb": du(ix.resolve()) / 1e6,
            "rss_mb": build_rss,
            "cold_s": cold,
            "warm_p50": p50,
            "warm_p95": p95,
            "reindex_s": reindex_s,
        }
        rows.append(row)
        print(json.dumps(row), flush=True)
        faiss_tables[n] = faiss_rows(ix, kinds)

    head = (
        f"{'eps':>4} {'passages':>8} {'build s':>8} {'p/s':>6} {'raw p/s':>7} {'ratio':>5} "
        f"{'disk MB':>7} {'RSS MB':>6} {'cold ask s':>10} {'warm p50/p95 ms':>15} "
        f"{'re-index s':>10}"
    )
    print()
    print(head)
    for r in rows:
        print(
            f"{r['episodes']:>4} {r['passages']:>8} {r['build_s']:>8.1f} {r['rate']:>6.1f} "
            f"{r['raw_rate']:>7.1f} {r['rate'] / r['raw_rate']:>5.2f} {r['disk_mb']:>7.1f} "
            f"{r['rss_mb']:>6} {r['cold_s']:>10.3f} "
            f"{r['warm_p50']:>7.1f}/{r['warm_p95']:<7.1f} {r['reindex_s']:>10.2f}"
        )
    print(
        f"\nimport sentence_transformers: {st_import:.2f} s; cold ask / import: "
        + ", ".join(f"{r['cold_s'] / st_import:.3f}" for r in rows)
    )
    print(
        "build = wall time of a fresh `podsearch index` process (interpreter, imports, model "
        "load, reading, chunking, embedding, writing); ratio = build p/s / raw encode p/s."
    )
    from podsearch.embed.export_cache import cache_root

    onnx_mb = du(cache_root() / "onnx") / 1e6 if (cache_root() / "onnx").exists() else 0.0
    print(f"ONNX export cache (per model, shared by all indexes): {onnx_mb:.0f} MB")
    for n, table in faiss_tables.items():
        print(f"\nVector indexes on the real vectors of {n} episodes (single query, k=10):")
        print(f"  {'index':<46} {'build s':>7} {'MB':>7} {'ms/query':>8} {'recall@10':>9}")
        for t in table:
            print(
                f"  {t['kind']:<46} {t['build_s']:>7.2f} {t['mb']:>7.1f} {t['ms']:>8.3f} "
                f"{t['recall']:>9.3f}"
            )
    if a.transcribe_minutes > 0:
        print_transcription(transcription_row(a.transcribe_minutes, a.asr_beam, a.corpus, work))
    if a.work is None:
        shutil.rmtree(work, ignore_errors=True)
    return 0


def print_transcription(row: dict) -> None:
    print(f"\nTranscription (tiny.en int8, beam {row['beam']}, {os.cpu_count()} CPUs):")
    print(
        f"  {'audio s':>8} {'load s':>6} {'wall s':>7} {'audio s/wall s':>14} "
        f"{'CPU s':>6} {'audio s/CPU s':>13} {'words':>6}"
    )
    print(
        f"  {row['audio_s']:>8.1f} {row['load_s']:>6.2f} {row['wall_s']:>7.1f} {row['rtf']:>14.1f} "
        f"{row['cpu_s']:>6.1f} {row['cpu_rtf']:>13.1f} {row['words']:>6}"
    )


if __name__ == "__main__":
    sys.exit(main())
