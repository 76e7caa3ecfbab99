"""A spaCy pipeline component: `nlp.add_pipe("jner", config={"model": "spacy_model/best"})`.

It sets `doc.ents` (jner's entities aligned to spaCy's tokens with
`doc.char_span(..., alignment_mode="expand")`, overlaps resolved by
`spacy.util.filter_spans`) and `doc.spans["jner"]` (every entity, with its confidence in
`span._.jner_score`). Registered through the `spacy_factories` entry point, so a
`spacy.blank("en")` pipeline finds it once the wheel is installed.

Each process loads the model itself on first use: `nlp.pipe(texts, n_process=2)` forks
workers, and a model's thread pool does not survive a fork.
"""

import os
from typing import Iterable, Iterator, List, Optional

from spacy.language import Language
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

import jner

if not Span.has_extension("jner_score"):
    Span.set_extension("jner_score", default=None)


class JnerComponent:
    def __init__(self, nlp: Language, name: str, model: str, threshold: Optional[float],
                 labels: Optional[List[str]], batch_size: int, spans_key: str):
        if not model:
            raise ValueError('the jner component needs config={"model": "PATH"}, a model folder')
        self.name = name
        self.path = model
        self.threshold = threshold
        self.labels = labels
        self.batch_size = batch_size
        self.spans_key = spans_key
        self._model = None
        self._pid = None
        self.model  # load now: a bad path fails when the pipe is added

    @property
    def model(self) -> "jner.Model":
        if self._model is None or self._pid != os.getpid():
            self._model = jner.load(self.path)
            self._pid = os.getpid()
        return self._model

    def _set(self, doc: Doc, ents: "List[jner.Entity]") -> Doc:
        spans = []
        for e in ents:
            span = doc.char_span(e.start, e.end, label=e.label, alignment_mode="expand")
            if span is None:
                continue
            span._.jner_score = e.score
            spans.append(span)
        doc.spans[self.spans_key] = spans
        doc.ents = filter_spans(spans)
        return doc

    def __call__(self, doc: Doc) -> Doc:
        found = self.model.predict([doc.text], labels=self.labels, threshold=self.threshold)
        return self._set(doc, found[0])

    def pipe(self, docs: Iterable[Doc], batch_size: int = 128) -> Iterator[Doc]:
        batch: List[Doc] = []
        for doc in docs:
            batch.append(doc)
            if len(batch) >= batch_size:
                yield from self._batch(batch)
                batch = []
        if batch:
            yield from self._batch(batch)

    def _batch(self, docs: List[Doc]) -> Iterator[Doc]:
        found = self.model.predict([d.text for d in docs], labels=self.labels,
                                   threshold=self.threshold, batch_size=self.batch_size)
        for doc, ents in zip(docs, found):
            yield self._set(doc, ents)


@Language.factory(
    "jner",
    default_config={"model": "", "threshold": None, "labels": None, "batch_size": 64,
                    "spans_key": "jner"},
)
def make_jner(nlp: Language, name: str, model: str, threshold: Optional[float],
              labels: Optional[List[str]], batch_size: int, spans_key: str) -> JnerComponent:
    return JnerComponent(nlp, name, model, threshold, labels, batch_size, spans_key)
