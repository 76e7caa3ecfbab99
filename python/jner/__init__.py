"""jner from Python: load a model folder trained by `jner train`, find entities, score.

    >>> import jner
    >>> model = jner.load("spacy_model/best")
    >>> model.predict(["My son (8) has asthma."])
    [[Entity(start=0, end=6, label="MinorChild", ...), ...]]

Offsets are character offsets, as Python indexes `str`. `predict` releases the GIL while the
model runs, so threads scale.
"""

from ._jner import Entity, Model, __version__, evaluate, load

__all__ = ["Entity", "Model", "evaluate", "load", "__version__"]
