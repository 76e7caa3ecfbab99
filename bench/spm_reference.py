"""Reference data for jner-torch's SentencePiece -> `tokenizers` converter (crates/jner-torch/src/spm.rs).

Command (from the repository root; transformers 4.x, whose `DebertaV2TokenizerFast.from_pretrained` on a
folder holding only `spm.model` runs `DebertaV2Converter`; transformers 5 builds its DeBERTa-v2 tokenizer
differently, see the note at the end of this docstring):

    python3 -m venv /tmp/venv-spm && /tmp/venv-spm/bin/pip install "transformers>=4.46,<5" sentencepiece protobuf tokenizers
    /tmp/venv-spm/bin/python bench/spm_reference.py crates/jner-torch/tests/fixtures/spm_convert

Trains two tiny SentencePiece Unigram models on a generated corpus, with DeBERTa-v3's special layout
([PAD]=0, [CLS]=1, [SEP]=2, [UNK]=3; [MASK] is not a piece, the tokenizer adds it after the pieces):

* `deberta_v3_like/spm.model`: the default `nmt_nfkc` normalization (so a precompiled charsmap is present),
  as microsoft/deberta-v3-* and mdeberta-v3-base ship.
* `identity_bytes/spm.model`: no charsmap (`identity`), byte_fallback pieces, a CONTROL piece `[MASK]`,
  USER_DEFINED pieces, split digits, remove_extra_whitespaces off: the converter's other branches.

and writes `expected.json`: per model, the fast tokenizer's `tokenizer.json` (the charsmap replaced by a
marker, checked equal to the model's; for the first model also the vocabulary, checked equal to the pieces
and their scores, with a sample of them kept), its vocabulary size and special token ids, and for every test string
the ids of `tok(text)` and of `tok(text.split(), is_split_into_words=True)` (with their word ids), plus a
few pairs.

transformers 5 (checked with 5.24): `DebertaV2Tokenizer` ignores the charsmap and builds
Replace(r"\\s{2,}|[\\n\\r\\t]", " ") + NFC + right Strip, so it differs from the 4.x converter (and from the
sentencepiece model DeBERTa was trained with) on compatibility characters, full-width letters, tabs and
newlines, leading spaces.  `--v5-diff` lists the strings where it does.
"""
import argparse
import base64
import json
import shutil
import sys
import tempfile
from pathlib import Path

import sentencepiece as spm

MARKER = "<precompiled_charsmap of spm.model>"
VOCAB_MARKER = "<pieces of spm.model>"

# The strings both tests encode. Keep each under ~80 characters.
STRINGS = [
    "Hello world",
    "The patient had a fever and a cough.",
    "Hello, world! (really?) yes: no; a-b/c {x} [y] <z> #1 @me 50% & more...",
    "In 2023 there were 1,234.56 cases, 3.14159 and 007.",
    "café naïve résumé Müller Straße élan",
    "Zürich–Genève — «guillemets» ¿Qué? ¡Sí!",
    "NEW YORK CITY iPhone McDonald's O'Neil",
    "  leading spaces",
    "trailing spaces   ",
    "multiple    spaces   here",
    " ",
    "",
    "tab\tseparated\tvalues",
    "line one\nline two\r\nline three",
    "mixed \t\n whitespace\t \n",
    "He said ``hi'' to me",
    "``quoted''",
    "\"double\" 'single' ‘curly’ “curly”",
    "ﬁnancial ﬂow ﬀ",
    "ＦＵＬＬ ｗｉｄｔｈ １２３ ！",
    "①②③ ™ ½ x² Ⅻ ǅ",
    "I love 🍕 and 🎉!",
    "👍🏽 👨‍👩‍👧 🇫🇷",
    "東京は日本の首都です",
    "中文测试 한국어 ｶﾀｶﾅ",
    "e\u0301cole a\u0308 n\u0303 o\u0302\u0323",
    "non\u00a0breaking\u00a0space",
    "thin\u2009space and\u3000ideographic",
    "zero\u200bwidth soft\u00adhyphen",
    "bell\x07char del\x7f nul\x00x",
    "İstanbul ǈ ŉ ß ẞ",
    "[CLS] inside [SEP] text [MASK] here [UNK] [PAD]",
    "<<ENT>> person <<SEP>> John lives in Paris",
    "xyzzyqwv zzzzzzzzzzzzzzzzzzzz",
    "Ωmega αβγ Привет мир",
    "a",
    "A.B.C. U.S.A. e.g. i.e.",
    "under_score snake_case camelCase kebab-case",
    "http://example.com/path?q=1&r=2",
    "1st 2nd 3rd 4th",
    "▁ already ▁metaspace▁",
]

PAIRS = [
    ("person", "John lives in Paris"),
    ("ﬁrst  part ", " second\tpart"),
    ("", "only b"),
]

BASE_LINES = [
    "The patient had a fever and a cough after the surgery.",
    "Hello world, this is a small corpus for a tiny tokenizer model.",
    "John lives in Paris and works for the United Nations in New York City.",
    "In 2023 there were 1,234 new cases; 56.7% of them were mild.",
    "Le café est très bon à Genève, mais le thé est meilleur à Zürich.",
    "Die Straße in München ist lang, und der Müller bäckt Brot.",
    "¿Dónde está la estación? ¡Aquí, señor! Mañana iremos a España.",
    "東京は日本の首都です。中文测试。한국어 문장입니다.",
    "Привет мир, это тест. Ωmega αβγ δέλτα.",
    "I love pizza 🍕 and parties 🎉, thumbs up 👍!",
    "He said \"hi\" to me, and she said 'bye' (really?) [yes] {no} <maybe>.",
    "Email me at someone@example.com or visit http://example.com/path?q=1.",
    "Person, organization, location, date, time, money, percent, product, event.",
    "GLiNER finds named entities: persons, places, companies and dates.",
    "snake_case, camelCase and kebab-case are naming styles; A.B.C. e.g. i.e.",
    "The first, second and third runners were 1st, 2nd and 3rd.",
]


def corpus_lines():
    """Deterministic: a fixed text and the docstrings of a few standard-library modules."""
    import collections, json as j, os, re, string, textwrap  # noqa: E401

    lines = []
    for _ in range(20):
        lines += BASE_LINES
    for mod in (collections, j, os, re, string, textwrap, argparse, base64, shutil, tempfile):
        for name in sorted(dir(mod)):
            doc = getattr(getattr(mod, name), "__doc__", None)
            if isinstance(doc, str):
                lines += [ln.strip() for ln in doc.splitlines() if ln.strip()]
    return lines


def train(out_dir: Path, corpus: Path, **extra):
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        prefix = Path(tmp) / "spm"
        spm.SentencePieceTrainer.train(
            input=str(corpus),
            model_prefix=str(prefix),
            model_type="unigram",
            pad_id=0,
            bos_id=1,
            eos_id=2,
            unk_id=3,
            pad_piece="[PAD]",
            bos_piece="[CLS]",
            eos_piece="[SEP]",
            unk_piece="[UNK]",
            num_threads=1,
            minloglevel=2,
            **extra,
        )
        shutil.copy(f"{prefix}.model", out_dir / "spm.model")


def reference(model_dir: Path, full_vocab: bool):
    from transformers import DebertaV2TokenizerFast

    from sentencepiece import sentencepiece_model_pb2 as model_pb2

    # From a neutrally named copy: transformers guesses a tokenizer class from a folder name with
    # "deberta" in it and warns (harmlessly) that it is not DebertaV2's.
    with tempfile.TemporaryDirectory() as tmp:
        shutil.copy(model_dir / "spm.model", Path(tmp) / "spm.model")
        tok = DebertaV2TokenizerFast.from_pretrained(tmp)
    sp = spm.SentencePieceProcessor(model_file=str(model_dir / "spm.model"))

    m = model_pb2.ModelProto()
    m.ParseFromString((model_dir / "spm.model").read_bytes())
    charsmap = m.normalizer_spec.precompiled_charsmap

    tj = json.loads(tok.backend_tokenizer.to_str())

    def strip_charsmap(node):
        if isinstance(node, dict):
            if node.get("type") == "Precompiled":
                assert base64.b64decode(node["precompiled_charsmap"]) == charsmap
                node["precompiled_charsmap"] = MARKER
            for v in node.values():
                strip_charsmap(v)
        elif isinstance(node, list):
            for v in node:
                strip_charsmap(v)

    strip_charsmap(tj["normalizer"])
    # The converter's vocabulary is the pieces with their scores, in order.
    pieces = [[p.piece, p.score] for p in m.pieces]
    assert tj["model"]["vocab"] == pieces
    sample = {str(i): pieces[i] for i in sorted({*range(8), *range(0, len(pieces), 37), len(pieces) - 1})}
    if full_vocab:
        sample = None
    else:
        # Keeps the fixtures small: the test compares these and the rest against spm.model.
        tj["model"]["vocab"] = VOCAB_MARKER

    cases = []
    for text in STRINGS:
        enc = tok(text)
        words = text.split()
        case = {"text": text, "ids": enc["input_ids"]}
        if words:
            wenc = tok(words, is_split_into_words=True)
            case["words"] = words
            case["word_ids_ids"] = wenc["input_ids"]
            case["word_ids"] = wenc.word_ids()
        cases.append(case)
    pairs = []
    for a, b in PAIRS:
        enc = tok(a, b)
        pairs.append({"a": a, "b": b, "ids": enc["input_ids"], "type_ids": enc["token_type_ids"]})

    return {
        "sp_piece_size": sp.get_piece_size(),
        "len": len(tok),
        "vocab_size": tok.vocab_size,
        "backend_vocab_size_with_added": tok.backend_tokenizer.get_vocab_size(with_added_tokens=True),
        "special_ids": {
            name: getattr(tok, f"{name}_token_id") for name in ("cls", "sep", "pad", "unk", "mask")
        },
        "charsmap_len": len(charsmap),
        "vocab_sample": sample,
        "tokenizer_json": tj,
        "cases": cases,
        "pairs": pairs,
    }


def v5_diff(out: Path):
    """Run with a transformers 5 venv: which strings its DebertaV2Tokenizer encodes differently."""
    from transformers import DebertaV2Tokenizer

    expected = json.loads((out / "expected.json").read_text())
    for name, ref in expected["models"].items():
        tok = DebertaV2Tokenizer.from_pretrained(str(out / name))
        for case in ref["cases"]:
            ids = tok(case["text"])["input_ids"]
            if ids != case["ids"]:
                print(f"{name}: {case['text']!r}: v4 {case['ids']} v5 {ids}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out", type=Path)
    ap.add_argument("--v5-diff", action="store_true", help="compare transformers 5 with expected.json")
    args = ap.parse_args()
    if args.v5_diff:
        v5_diff(args.out)
        return
    import transformers

    if int(transformers.__version__.split(".")[0]) >= 5:
        sys.exit("needs transformers 4.x (DebertaV2TokenizerFast built by DebertaV2Converter)")
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "corpus.txt"
        corpus.write_text("\n".join(corpus_lines()) + "\n", encoding="utf-8")
        train(args.out / "deberta_v3_like", corpus, vocab_size=400)
        train(
            args.out / "identity_bytes",
            corpus,
            vocab_size=450,
            normalization_rule_name="identity",
            byte_fallback=True,
            control_symbols=["[MASK]"],
            user_defined_symbols=["<<ENT>>", "<<SEP>>"],
            split_digits=True,
            remove_extra_whitespaces=False,
        )
    models = {
        "deberta_v3_like": reference(args.out / "deberta_v3_like", full_vocab=False),
        "identity_bytes": reference(args.out / "identity_bytes", full_vocab=True),
    }
    doc = {
        "generator": "bench/spm_reference.py",
        "transformers": transformers.__version__,
        "tokenizers": __import__("tokenizers").__version__,
        "sentencepiece": spm.__version__,
        "charsmap_marker": MARKER,
        "vocab_marker": VOCAB_MARKER,
        "models": models,
    }
    # One case per line keeps the file small and diffable.
    (args.out / "expected.json").write_text(json.dumps(doc, ensure_ascii=False, separators=(",", ":")) + "\n")
    for name, ref in models.items():
        print(name, "pieces", ref["sp_piece_size"], "len", ref["len"], "special", ref["special_ids"],
              "charsmap", ref["charsmap_len"])


if __name__ == "__main__":
    main()
