"""The spaCy component on a blank English pipeline: found through its entry point, spans equal
to jner's entities wherever those align with spaCy's tokens, the same in `n_process=2`."""

import pytest

spacy = pytest.importorskip("spacy")

import jner  # noqa: E402


def pipeline(model_dir):
    nlp = spacy.blank("en")
    nlp.add_pipe("jner", config={"model": str(model_dir)})  # no import of jner.spacy needed
    return nlp


def test_spans_equal_jner_entities_where_they_align(demo):
    d, docs, _ = demo
    model_dir = d / "run" / "final"
    nlp = pipeline(model_dir)
    model = jner.load(model_dir)
    texts = [x["text"] for x in docs]
    aligned = 0
    for text, ents, doc in zip(texts, model.predict(texts), nlp.pipe(texts)):
        got = {(s.start_char, s.end_char, s.label_): s._.jner_score for s in doc.spans["jner"]}
        for e in ents:
            if doc.char_span(e.start, e.end) is None:
                continue  # not on token boundaries: expanded, checked below
            aligned += 1
            assert got[(e.start, e.end, e.label)] == pytest.approx(e.score)
        for s in doc.spans["jner"]:
            assert any(e.start >= s.start_char and e.end <= s.end_char and e.label == s.label_
                       for e in ents), (text, s)
        # doc.ents: a non-overlapping subset of the spans
        assert {(s.start_char, s.end_char, s.label_) for s in doc.ents} <= set(got)
    assert aligned > 0


def test_multiprocess_pipe_gives_the_same_entities(demo):
    d, docs, _ = demo
    nlp = pipeline(d / "run" / "final")
    texts = [x["text"] for x in docs]
    one = [[(s.start_char, s.end_char, s.label_) for s in doc.ents] for doc in nlp.pipe(texts)]
    two = [[(s.start_char, s.end_char, s.label_) for s in doc.ents]
           for doc in nlp.pipe(texts, n_process=2, batch_size=8)]
    assert one == two and any(one)


def test_a_bad_model_path_fails_when_the_pipe_is_added(tmp_path):
    nlp = spacy.blank("en")
    with pytest.raises(ValueError, match="is not a jner model folder"):
        nlp.add_pipe("jner", config={"model": str(tmp_path)})
