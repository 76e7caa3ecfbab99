from os import PathLike
from typing import Any, Dict, List, Literal, Optional, Sequence, Tuple, Union, overload

__version__: str
backends: List[str]
"""The backends built into this package: cnn, and spanmarker and gliner in a build with the
torch feature."""

class Entity:
    """One entity: character offsets into its text, label, confidence in [0, 1], text."""

    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def label(self) -> str: ...
    @property
    def score(self) -> float: ...
    @property
    def text(self) -> str: ...
    def to_dict(self) -> Dict[str, Any]: ...

class Model:
    """A loaded model folder of any backend (cnn, spanmarker, gliner)."""

    @property
    def labels(self) -> List[str]: ...
    @property
    def backend(self) -> str: ...
    @property
    def zero_shot(self) -> bool: ...
    def predict(
        self,
        texts: Union[str, List[str]],
        labels: Optional[Sequence[str]] = None,
        threshold: Optional[float] = None,
        batch_size: int = 64,
        *,
        nested: bool = False,
        multi_label: bool = False,
    ) -> List[List[Entity]]:
        """The entities of each text (a str is one text), as `jner predict` finds them
        (`nested` and `multi_label` as its flags, for gliner).

        Raises ValueError with jner's message for a threshold outside [0, 1], labels a
        fixed-label model does not know, or a failed prediction; TypeError for texts that
        are not str."""
        ...
    @overload
    def redact(
        self,
        texts: Union[str, List[str]],
        operators: Optional[Dict[str, str]] = None,
        key_file: Optional[Union[str, PathLike[str]]] = None,
        merge_adjacent: bool = False,
        labels: Optional[Sequence[str]] = None,
        threshold: Optional[float] = None,
        batch_size: int = 64,
        with_entities: Literal[False] = False,
    ) -> List[str]: ...
    @overload
    def redact(
        self,
        texts: Union[str, List[str]],
        operators: Optional[Dict[str, str]] = None,
        key_file: Optional[Union[str, PathLike[str]]] = None,
        merge_adjacent: bool = False,
        labels: Optional[Sequence[str]] = None,
        threshold: Optional[float] = None,
        batch_size: int = 64,
        *,
        with_entities: Literal[True],
    ) -> List[Tuple[str, List[Entity]]]:
        """Each text with its entities anonymized by the operators of `jner redact`:
        `operators` maps a label (or "*") to a spec such as "replace:numbered", "mask:#",
        "remove", "hash" or "encrypt" (the last two need `key_file`). With
        `with_entities=True`, each item is `(redacted_text, entities)` from one prediction."""
        ...

def load(path: Union[str, PathLike[str]], device: str = "cpu", verify: bool = True) -> Model:
    """Loads a model folder (`jner train`'s best/ or final/, or a checkpoint its Python
    library saved) onto `device`: "cpu", or "cuda" / "cuda:N" for spanmarker and gliner models
    in a package built with the torch feature. Raises ValueError naming the file when it
    cannot."""
    ...

def evaluate(gold: Union[str, PathLike[str]], pred: Union[str, PathLike[str]]) -> Dict[str, Any]:
    """Scores a predictions JSONL file against a gold JSONL file with jner's one scorer
    (`jner eval --gold --pred --json`)."""
    ...

def train(**flags: Any) -> Dict[str, Any]:
    """`jner train` in this process, each keyword one of its flags: `backend="cnn"`,
    `epochs=3`, `output_dir="run"`, `train_jsonl=...`, `labels=["MinorChild"]`,
    `set={"depth": 4}`, `overwrite=True` (True: the flag alone; False or None: left out; a
    list: the flag once per item). Returns the run's report: `output_dir`, `best`, `final`,
    `run` (run.json), `epochs` (metrics.jsonl, a dict per epoch) and, for cnn,
    `train_report`. Raises ValueError with jner's message for a bad flag or run."""
    ...
