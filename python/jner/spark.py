"""Screening a Spark DataFrame: `jner.spark.screen(df, text_col="text", model=PATH)`.

Returns `df` with an `entities` column, an array of structs (start, end, label, score, text),
and on request (`redacted="redacted"`) a column of the text with those entities anonymized
by the operators of `jner redact` (`operators={"*": "replace:numbered"}`, the default
`replace`), both from one prediction per row. It is computed with `mapInPandas`: Spark distributes the rows, and each Python worker process loads
the model once and predicts batch by batch (the GIL released while it runs). The model
folder must be readable at the same path on every executor. A null text gets an empty array.
"""

import os
from typing import Dict, Iterator, Optional, Tuple

import jner

_MODELS: Dict[Tuple[str, int], "jner.Model"] = {}


def _model(path: str) -> "jner.Model":
    key = (path, os.getpid())
    m = _MODELS.get(key)
    if m is None:
        m = _MODELS[key] = jner.load(path)
    return m


def entity_type():
    """The Spark type of the entities column."""
    from pyspark.sql.types import (ArrayType, FloatType, LongType, StringType, StructField,
                                   StructType)

    return ArrayType(StructType([
        StructField("start", LongType(), False),
        StructField("end", LongType(), False),
        StructField("label", StringType(), False),
        StructField("score", FloatType(), False),
        StructField("text", StringType(), False),
    ]))


def screen(df, text_col: str = "text", model: str = "", output: str = "entities",
           batch_size: int = 64, redacted: Optional[str] = None,
           operators: Optional[Dict[str, str]] = None, key_file: Optional[str] = None,
           merge_adjacent: bool = False):
    """`df` with a column `output` of the entities jner finds in `text_col`, and with
    `redacted`, a column of that name holding the text with them anonymized (`operators`,
    `key_file` and `merge_adjacent` as `Model.redact` takes them; a null text stays null)."""
    from pyspark.sql.types import StringType, StructField, StructType

    if not model:
        raise ValueError("screen: give model=PATH, a model folder readable by every executor")
    if text_col not in df.columns:
        raise ValueError(f"screen: no column {text_col!r} (columns: {', '.join(df.columns)})")
    for col in [output] + ([redacted] if redacted else []):
        if col in df.columns:
            raise ValueError(f"screen: the output column {col!r} already exists")
    if redacted == output:
        raise ValueError(f"screen: output and redacted name the same column {output!r}")
    if not redacted and (operators or key_file or merge_adjacent):
        raise ValueError("screen: operators, key_file and merge_adjacent need redacted=COLUMN")
    path = os.path.abspath(str(model))
    key = os.path.abspath(str(key_file)) if key_file else None
    m = jner.load(path)  # fail here, on the driver, for a bad path, operators or key
    if redacted:
        m.redact([""], operators=operators, key_file=key, merge_adjacent=merge_adjacent)
    fields = [StructField(output, entity_type(), True)]
    if redacted:
        fields.append(StructField(redacted, StringType(), True))
    schema = StructType(df.schema.fields + fields)

    def run(batches: Iterator["pandas.DataFrame"]) -> Iterator["pandas.DataFrame"]:  # noqa: F821
        m = _model(path)
        for pdf in batches:
            texts = pdf[text_col]
            present = texts.notna()
            kept = [str(t) for t in texts[present]]
            if redacted:
                pairs = m.redact(kept, operators=operators, key_file=key,
                                 merge_adjacent=merge_adjacent, batch_size=batch_size,
                                 with_entities=True)
            else:
                pairs = [(None, ents) for ents in m.predict(kept, batch_size=batch_size)]
            it = iter(pairs)
            rows = [next(it) if ok else (None, []) for ok in present]
            pdf = pdf.copy()
            pdf[output] = [[e.to_dict() for e in ents] for _, ents in rows]
            if redacted:
                pdf[redacted] = [r for r, _ in rows]
            yield pdf

    return df.mapInPandas(run, schema)
