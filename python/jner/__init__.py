"""jner from Python: load a model folder trained by `jner train`, find entities, score.

    >>> import jner
    >>> model = jner.load("spacy_model/best")
    >>> model.predict(["My son (8) has asthma."])
    [[Entity(start=0, end=6, label="MinorChild", ...), ...]]

Offsets are character offsets, as Python indexes `str`. `predict` releases the GIL while the
model runs, so threads scale. `train(**flags)` runs `jner train` with the same flags.
"""

import json
import os
from typing import Any, Dict, List

try:
    from . import _jner
except ImportError as e:  # pragma: no cover - a torch build whose run path missed libtorch
    # a package built with the torch feature links the torch package's libtorch; its run path
    # finds it when both sit in one site-packages, and importing torch loads it otherwise
    if "libtorch" not in str(e) and "libc10" not in str(e):
        raise
    import torch  # noqa: F401

    from . import _jner
from ._jner import Entity, Model, __version__, backends, evaluate, load

__all__ = ["Entity", "Model", "backends", "evaluate", "load", "train", "__version__"]


def _flag_args(flags: Dict[str, Any]) -> List[str]:
    """Keywords as `jner train` flags: `epochs=3` is `--epochs=3`, True the flag alone,
    False or None nothing, a list the flag once per item, a dict (for `set`) `KEY=VALUE`
    once per item with the value as JSON."""
    args: List[str] = []
    for key, value in flags.items():
        flag = "--" + key.replace("_", "-")
        if value is None or value is False:
            continue
        if value is True:
            args.append(flag)
            continue
        if isinstance(value, dict):
            items = [f"{k}={v if isinstance(v, str) else json.dumps(v)}" for k, v in value.items()]
        elif isinstance(value, (list, tuple)):
            items = list(value)
        else:
            items = [value]
        for item in items:
            item = os.fspath(item) if isinstance(item, os.PathLike) else item
            # `--flag=value`, so that a value starting with "-" is not taken for a flag
            args.append(f"{flag}={item}")
    return args


def train(**flags: Any) -> Dict[str, Any]:
    """`jner train` in this process, each keyword one of its flags (`jner train --help`
    lists them): `jner.train(backend="cnn", epochs=3, output_dir="run")`. Returns the run's
    report (its folder, `best`, `final`, `run`, `epochs` and, for cnn, `train_report`). It
    runs to the end with the GIL released (Ctrl-C waits for it); a run whose process was
    killed is continued with `resume="run"`."""
    return _jner._train(_flag_args(flags))
