"""The Parquet tables of a generation: their schemas, one place."""

from __future__ import annotations

from typing import Any

from .layout import EPISODES, PASSAGES, TURNS


def table(rows: list[dict[str, Any]], schema: Any) -> Any:
    """A pyarrow table of ``rows`` with ``schema``."""
    import pyarrow as pa

    return pa.Table.from_pylist(rows, schema=schema)


def schemas() -> dict[str, Any]:
    import pyarrow as pa

    people = pa.list_(pa.struct([("name", pa.string()), ("role", pa.string())]))
    chapters = pa.list_(pa.struct([("start", pa.float64()), ("title", pa.string())]))
    cues = pa.list_(
        pa.struct([("start", pa.float64()), ("end", pa.float64()), ("text", pa.string())])
    )
    return {
        PASSAGES: pa.schema(
            [
                ("passage_id", pa.string()),
                ("episode_id", pa.string()),
                ("speaker", pa.string()),
                ("speaker_source", pa.string()),
                ("start", pa.float64()),
                ("end", pa.float64()),
                ("time_precision", pa.string()),
                ("turn_index", pa.int32()),
                ("word_offset", pa.int32()),
                ("text", pa.string()),
                ("embed_text", pa.string()),
                ("chapter", pa.string()),  # the feed's chapter title at the passage's start
                # Share of the text its show repeats across episodes (episodes.boilerplate).
                ("boilerplate", pa.float32()),
            ]
        ),
        EPISODES: pa.schema(
            [
                ("episode_id", pa.string()),
                ("title", pa.string()),
                ("podcast", pa.string()),
                ("published", pa.string()),
                ("url", pa.string()),
                ("audio_url", pa.string()),
                ("description", pa.string()),
                ("people", people),
                ("sources", pa.list_(pa.string())),
                ("source_hashes", pa.list_(pa.string())),
                ("formats", pa.list_(pa.string())),
                ("truncated", pa.bool_()),
                ("episode_number", pa.int32()),
                ("guid", pa.string()),
                ("language", pa.string()),
                ("duration", pa.float64()),
                ("chapters", chapters),
                ("extra", pa.string()),  # unknown metadata fields, as a JSON object
            ]
        ),
        TURNS: pa.schema(
            [
                ("episode_id", pa.string()),
                ("turn_index", pa.int32()),
                ("speaker", pa.string()),
                ("label", pa.string()),  # the speaker as the source wrote it
                ("speaker_source", pa.string()),
                ("start", pa.float64()),
                ("end", pa.float64()),
                ("time_precision", pa.string()),
                ("text", pa.string()),
                ("cues", cues),
            ]
        ),
    }
