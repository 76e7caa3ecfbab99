"""Screening a Spark DataFrame: `jner.spark.screen(df, text_col="text", model=PATH)`.

Returns `df` with an `entities` column, an array of structs (start, end, label, score, text),
and on request (`redacted="redacted"`) a column of the text with those entities anonymized
by the operators of `jner redact` (`operators={"*": "replace:numbered"}`, the default
`replace`), both from one prediction per row. It is computed with `mapInPandas`: Spark
distributes the rows, and each Python worker process loads the model once and predicts batch
by batch (the GIL released while it runs). The model folder (and a key file) must be readable
at the same path on every executor. A null text gets an empty array and a null redaction.
"""

import os
from typing import Dict, Iterator, Optional, Tuple

import jner

from ._frames import Screening

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

    s = Screening(df.columns, text_col, model, output, batch_size, redacted, operators, key_file,
                  merge_adjacent)
    fields = [StructField(output, entity_type(), True)]
    if redacted:
        fields.append(StructField(redacted, StringType(), True))
    schema = StructType(df.schema.fields + fields)

    def run(batches: Iterator["pandas.DataFrame"]) -> Iterator["pandas.DataFrame"]:  # noqa: F821
        m = _model(s.path)
        for pdf in batches:
            yield s.frame(m, pdf)

    return df.mapInPandas(run, schema)
