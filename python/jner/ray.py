"""Screening a Ray Dataset: `jner.ray.screen(ds, text_col="text", model=PATH)`.

The same columns as `jner.spark.screen` (`entities`, and `redacted` on request), computed with
`Dataset.map_batches` over a pool of `concurrency` actors, each of which loads the model once.
Ray does the distribution; the model folder must be readable at the same path on every node.
"""

from typing import Dict, Optional

from ._frames import Screening


def screen(ds, text_col: str = "text", model: str = "", output: str = "entities",
           batch_size: int = 64, redacted: Optional[str] = None,
           operators: Optional[Dict[str, str]] = None, key_file: Optional[str] = None,
           merge_adjacent: bool = False, concurrency: int = 1, num_cpus: float = 1):
    """`ds` with a column `output` of the entities jner finds in `text_col` (and `redacted`,
    as `jner.spark.screen`), from `concurrency` actors of `num_cpus` CPUs each. Leave CPUs
    for Ray's own read and shuffle tasks: actors holding every CPU of the cluster starve them
    and the pipeline waits forever."""
    import jner

    s = Screening(list(ds.schema().names), text_col, model, output, batch_size, redacted,
                  operators, key_file, merge_adjacent)

    class _Screen:
        def __init__(self):
            self.model = jner.load(s.path)

        def __call__(self, pdf):
            return s.frame(self.model, pdf)

    return ds.map_batches(_Screen, batch_format="pandas", batch_size=max(batch_size, 256),
                          concurrency=concurrency, num_cpus=num_cpus)
