"""Screening a Spark DataFrame: `jner.spark.screen(df, text_col="text", model=PATH)`.

Returns `df` with an `entities` column, an array of structs (start, end, label, score, text),
computed with `mapInPandas`: Spark distributes the rows, and each Python worker process loads
the model once and predicts batch by batch (the GIL released while it runs). The model
folder must be readable at the same path on every executor. A null text gets an empty array.
"""

import os
from typing import Dict, Iterator, Tuple

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
           batch_size: int = 64):
    """`df` with a column `output` of the entities jner finds in `text_col`."""
    from pyspark.sql.types import StructField, StructType

    if not model:
        raise ValueError("screen: give model=PATH, a model folder readable by every executor")
    if text_col not in df.columns:
        raise ValueError(f"screen: no column {text_col!r} (columns: {', '.join(df.columns)})")
    if output in df.columns:
        raise ValueError(f"screen: the output column {output!r} already exists")
    path = os.path.abspath(str(model))
    jner.load(path)  # fail here, on the driver, for a bad path
    schema = StructType(df.schema.fields + [StructField(output, entity_type(), True)])

    def run(batches: Iterator["pandas.DataFrame"]) -> Iterator["pandas.DataFrame"]:  # noqa: F821
        m = _model(path)
        for pdf in batches:
            texts = pdf[text_col]
            present = texts.notna()
            found = m.predict([str(t) for t in texts[present]], batch_size=batch_size)
            it = iter(found)
            pdf = pdf.copy()
            pdf[output] = [[e.to_dict() for e in next(it)] if ok else [] for ok in present]
            yield pdf

    return df.mapInPandas(run, schema)
