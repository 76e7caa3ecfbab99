"""What `jner.spark.screen` and `jner.ray.screen` share: the argument checks on the driver and
the screening of one pandas batch (one prediction per row; a null text gets no entities)."""

import os
from typing import Any, Dict, List, Optional, Tuple

import jner


class Screening:
    """The checked arguments of a `screen` call; `frame` screens one pandas batch with a model
    the worker loaded once."""

    def __init__(self, columns: List[str], text_col: str, model: str, output: str,
                 batch_size: int, redacted: Optional[str], operators: Optional[Dict[str, str]],
                 key_file: Optional[str], merge_adjacent: bool):
        if not model:
            raise ValueError("screen: give model=PATH, a model folder readable by every worker")
        if text_col not in columns:
            raise ValueError(f"screen: no column {text_col!r} (columns: {', '.join(columns)})")
        for col in [output] + ([redacted] if redacted else []):
            if col in columns:
                raise ValueError(f"screen: the output column {col!r} already exists")
        if redacted == output:
            raise ValueError(f"screen: output and redacted name the same column {output!r}")
        if not redacted and (operators or key_file or merge_adjacent):
            raise ValueError("screen: operators, key_file and merge_adjacent need redacted=COLUMN")
        self.text_col, self.output, self.batch_size = text_col, output, batch_size
        self.redacted, self.operators, self.merge_adjacent = redacted, operators, merge_adjacent
        self.path = os.path.abspath(str(model))
        self.key = os.path.abspath(str(key_file)) if key_file else None
        # fail here, on the driver, for a bad path, operators or key
        self.check(jner.load(self.path))

    def check(self, m: "jner.Model") -> None:
        if self.redacted:
            m.redact([""], operators=self.operators, key_file=self.key,
                     merge_adjacent=self.merge_adjacent)

    def frame(self, m: "jner.Model", pdf):
        texts = pdf[self.text_col]
        present = texts.notna()
        kept = [str(t) for t in texts[present]]
        if self.redacted:
            pairs: List[Tuple[Any, list]] = m.redact(
                kept, operators=self.operators, key_file=self.key,
                merge_adjacent=self.merge_adjacent, batch_size=self.batch_size,
                with_entities=True)
        else:
            pairs = [(None, ents) for ents in m.predict(kept, batch_size=self.batch_size)]
        it = iter(pairs)
        rows = [next(it) if ok else (None, []) for ok in present]
        pdf = pdf.copy()
        pdf[self.output] = [[e.to_dict() for e in ents] for _, ents in rows]
        if self.redacted:
            pdf[self.redacted] = [r for r, _ in rows]
        return pdf
