"""Parity fixtures for jner-torch's GLiNER (span mode, markerV0) and DeBERTa-v2/v3 ports.

Everything is built locally from random (seeded, then perturbed) weights: no hub access.
Run with the venv from bench/setup-gliner-venv.sh (torch, gliner, transformers pinned there):

    PY=$(bench/setup-gliner-venv.sh)
    $PY bench/gliner_fixtures.py make crates/jner-torch/tests/fixtures/gliner
    $PY bench/gliner_fixtures.py check crates/jner-torch/tests/fixtures/gliner
    $PY bench/gliner_fixtures.py dump MODEL_DIR CASES_JSON OUT.safetensors

Subcommands
  make OUTDIR   builds deberta/, bert/ (tiny GLiNER models saved by the library, cases.json,
                cases.safetensors), deberta_only/ (DebertaV2Model vs transformers hidden states)
                and spm/ (tokenizer conversion reference), then runs `check` in a fresh process.
  check OUTDIR  reloads deberta/ and bert/ with GLiNER.from_pretrained (from another working
                directory) and verifies inputs, logits and entities against the stored fixtures.
  dump MODEL_DIR CASES_JSON OUT.safetensors
                loads a GLiNER folder with the library, runs every case of CASES_JSON, writes the
                logits (key case{i}.logits) to OUT.safetensors and prints the entities as JSON.
                Loads with strict=True so a checkpoint with missing/unexpected keys fails.

See bench/GLINER_FIXTURES.md for what each file holds.
"""

import argparse
import base64
import collections
import contextlib
import importlib.metadata as md
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import unicodedata
import warnings
from pathlib import Path

import torch

SEED = 1234
MAX_WIDTH = 12

# ----------------------------------------------------------------------------------------------
# Corpus (generated; used to train the tiny SentencePiece model and pick the WordPiece vocab)
# ----------------------------------------------------------------------------------------------

FIRST = ["Alice", "Bob", "John", "Mary", "Pierre", "François", "Zoë", "José", "Søren", "Björk",
         "Łukasz", "Ana", "Hiroshi", "Wei", "Olga", "Müller", "Chloé", "Renée", "Nguyễn", "Íñigo"]
LAST = ["Smith", "Dupont", "García", "Curie", "Johnson", "Schröder", "Nakamura", "Zhang",
        "Kowalski", "Brontë", "O'Neil", "McDonald", "Lefèvre", "Andersson"]
PLACES = ["Paris", "London", "New York City", "São Paulo", "Zürich", "Kraków", "Tokyo",
          "Beijing", "Genève", "Reykjavík", "Montréal", "Berlin", "Madrid", "Lisbon", "Québec",
          "Málaga", "Córdoba", "Bogotá", "Ōsaka", "Düsseldorf"]
ORGS = ["the United Nations", "Acme Corp", "Siemens AG", "the World Health Organization",
        "Bank of America", "Université de Montréal", "Nestlé", "the Red Cross", "Globex Inc.",
        "the European Central Bank", "Toyota", "Crédit Agricole"]
CONDITIONS = ["diabetes", "influenza", "asthma", "hypertension", "a fever", "a cough",
              "pneumonia", "migraine", "anemia", "bronchitis"]
DRUGS = ["aspirin", "ibuprofen", "insulin", "paracetamol", "amoxicillin", "metformin"]
FOODS = ["café au lait", "crème brûlée", "pizza", "jalapeño", "paella", "sushi", "croissant",
         "smørrebrød", "bratwurst", "açaí"]
DATES = ["Monday", "12 March 2021", "1999", "last year", "in July", "on 3 May 1987",
         "yesterday", "next Friday", "2023", "the 1st of January"]
VERBS = ["visited", "met", "called", "left", "joined", "founded", "praised", "criticised",
         "moved to", "worked in"]
ADJ = ["naïve", "state-of-the-art", "well-known", "old", "new", "large", "small", "famous",
       "über-cool", "déjà-vu"]
TEMPLATES = [
    "{first} {last} {verb} {place} {date}.",
    "{first} works for {org} in {place}.",
    "In {date}, {org} opened an office in {place}.",
    "The patient, {first} {last}, was treated for {cond} with {drug}.",
    "Dr. {last} said that {cond} is common in {place}.",
    "{first} ordered {food} at a café in {place}; it cost 12.50 €.",
    "\"{org} is a {adj} company,\" said {first} {last}.",
    "{first}'s résumé lists {org}, {place} and {date}.",
    "She said ``hello'' to {first} and left for {place}.",
    "{first} {last} (born {date}) is a {adj} writer from {place}.",
    "Is {cond} treated with {drug}? Ask {first} at {org}!",
    "The {adj} meeting between {first} and {last} took place {date} in {place}.",
    "{org} and {org2} signed a deal worth $3.5 billion {date}.",
    "Über 100 people in {place} ate {food} - {adj} indeed.",
    "{first} e-mailed {first2}_{last}@example.com about {cond}.",
]
COMMON = """about above across after again against almost alone along already also although
always among another answer anything around asked away back became because become before began
behind being believe below between beyond both brought building business called came cannot
carried certain change children city close coming common company could country course
daughter decided different during early enough every everything example family father field
finally following found friends garden general government great ground group happened having
heard history however hundred important interest island itself journey kitchen knowledge
language large later learned letter light little living making market matter meaning might
minutes money morning mother mountain music national nature nearly never nothing number often
opened order others outside paper people perhaps picture place plants point possible power
present problem question quickly rather reached really reason remember report result river
running science second seemed sentence several should shown simple since something sometimes
started station still story street strong student suddenly summer surface system teacher
thought through together toward travel trouble understand until usually village voice watched
weather without wonder working world written yellow young""".split()

EXTRA_LINES = [
    "東京は日本の首都です。", "北京是中国的首都。", "大阪と京都は近い。", "中文测试很好。",
    "Straße, Maß, Größe und Fußball sind deutsche Wörter.",
    "¿Dónde está la estación? ¡Aquí, señor! Mañana iremos a España.",
    "Les élèves naïfs ont mangé une crème brûlée à Noël.",
    "Ça coûte 5 € ou 4 £ ou 6 $; 50% de réduction!",
    "Ωmega, αβγ and δέλτα are Greek; Привет мир is Russian.",
    "Numbers: 0 1 2 3 4 5 6 7 8 9 10 100 1,000 3.14 2nd 3rd 4th.",
    "Punctuation: ( ) [ ] { } < > / \\ | # @ & * + = ~ ^ % ; : , . ! ? - _ ' \" `",
    "UPPER CASE WORDS LIKE NASA, UNICEF AND IBM ARE ACRONYMS.",
]


def corpus_lines(seed=SEED, n=1500):
    rnd = random.Random(seed)
    lines = []
    for _ in range(n):
        t = rnd.choice(TEMPLATES)
        org, org2 = rnd.sample(ORGS, 2)
        first, first2 = rnd.sample(FIRST, 2)
        lines.append(t.format(first=first, first2=first2, last=rnd.choice(LAST),
                              place=rnd.choice(PLACES), org=org, org2=org2,
                              cond=rnd.choice(CONDITIONS), drug=rnd.choice(DRUGS),
                              food=rnd.choice(FOODS), date=rnd.choice(DATES),
                              verb=rnd.choice(VERBS), adj=rnd.choice(ADJ)))
    for _ in range(n // 3):
        k = rnd.randint(6, 14)
        words = [rnd.choice(COMMON) for _ in range(k)]
        words[0] = words[0].capitalize()
        lines.append(" ".join(words) + rnd.choice([".", ".", "?", "!", ";"]))
    for _ in range(10):
        lines += EXTRA_LINES
    return lines


def long_text(seed, n_words):
    """Sentences from the corpus generator joined until ~n_words whitespace words."""
    rnd = random.Random(seed)
    lines = corpus_lines(seed=seed, n=400)
    rnd.shuffle(lines)
    out, count = [], 0
    for ln in lines:
        if ln in EXTRA_LINES:
            continue
        out.append(ln)
        count += len(ln.split())
        if count >= n_words:
            break
    return " ".join(out)


# ----------------------------------------------------------------------------------------------
# Cases (shared by deberta/ and bert/)
# ----------------------------------------------------------------------------------------------

MANY_LABELS = ["person", "organization", "location", "city", "country", "date", "time",
               "medical condition", "drug", "food", "money", "percent", "company",
               "date of birth", "person", "event", "product", "job title", "language",
               "nationality", "email address"]


def make_cases(kind):
    """kind: 'deberta' or 'bert'. The thresholds are chosen per model (see THRESHOLDS)."""
    th = THRESHOLDS[kind]
    return [
        dict(name="short_en", text="Alice Smith works for Acme Corp in Paris since 2021.",
             labels=["person", "organization", "location"], threshold=th["short_en"]),
        dict(name="unicode",
             text="Zoë met José at the café in São Paulo 🎉 — 東京 and 北京 were next; "
                  "cafe\u0301 au\u00a0lait costs 5 €.",
             labels=["person", "location", "food"], threshold=th["unicode"]),
        dict(name="long", text=long_text(SEED + 1, 200),
             labels=["person", "organization", "location", "date"], threshold=th["long"]),
        dict(name="many_labels",
             text="Dr. Chloé Lefèvre, a French cardiologist born on 3 May 1987, prescribed "
                  "aspirin for hypertension at the World Health Organization in Genève.",
             labels=MANY_LABELS, threshold=th["many_labels"]),
        dict(name="nested",
             text="The Bank of America headquarters in New York City hired Mary Johnson.",
             labels=["organization", "location", "city", "person"], threshold=th["nested"],
             flat_ner=False),
        dict(name="multi_label",
             text="Toyota and Nestlé opened offices in Ōsaka and Lisbon last year.",
             labels=["company", "organization", "city", "location"],
             threshold=th["multi_label"], multi_label=True),
        dict(name="threshold_low",
             text="Hiroshi Nakamura was treated for pneumonia with amoxicillin in Tokyo.",
             labels=["person", "medical condition", "drug", "location"], threshold=0.3),
        dict(name="threshold_high",
             text="Olga Kowalski joined the Red Cross in Kraków on Monday.",
             labels=["person", "organization", "location", "date"], threshold=0.7),
        dict(name="one_word", text="Paris", labels=["location", "person"],
             threshold=th["one_word"]),
        dict(name="zero_width_and_combining",
             text="Bob\u200b met Ana\u00ad in Berlin ; re\u0301sume\u0301 \u200b done .",
             labels=["person", "location"], threshold=th["zero_width_and_combining"]),
        dict(name="truncated_over_max_len", text=long_text(SEED + 2, 400),
             labels=["person", "location"], threshold=th["truncated_over_max_len"]),
    ]


# Thresholds per model, picked after looking at the logits so that most cases yield entities
# (random weights; see the report in GLINER_FIXTURES.md). threshold_low/high are fixed 0.3/0.7.
THRESHOLDS = {
    "deberta": dict(short_en=0.5, unicode=0.5, long=0.5, many_labels=0.5, nested=0.5,
                    multi_label=0.5, one_word=0.1, zero_width_and_combining=0.5,
                    truncated_over_max_len=0.5),
    "bert": dict(short_en=0.5, unicode=0.5, long=0.5, many_labels=0.5, nested=0.5,
                 multi_label=0.5, one_word=0.5, zero_width_and_combining=0.5,
                 truncated_over_max_len=0.5),
}


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def versions():
    return {
        "gliner_version": md.version("gliner"),
        "transformers_version": md.version("transformers"),
        "torch_version": torch.__version__,
        "tokenizers_version": md.version("tokenizers"),
        "sentencepiece_version": md.version("sentencepiece"),
        "safetensors_version": md.version("safetensors"),
    }


@contextlib.contextmanager
def chdir(path):
    old = os.getcwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)


def perturb(module, seed, only=None):
    """Make random weights non-trivial: LayerNorm weight = 1+N(0,0.1), bias += N(0,0.1),
    other weights += N(0, 0.2). `only(name) -> bool` restricts which parameters are touched."""
    gen = torch.Generator().manual_seed(seed)
    ln_params = set()
    for mname, mod in module.named_modules():
        if isinstance(mod, torch.nn.LayerNorm):
            for pname, _ in mod.named_parameters(recurse=False):
                ln_params.add(f"{mname}.{pname}" if mname else pname)
    with torch.no_grad():
        for name, p in module.named_parameters():
            if only is not None and not only(name):
                continue
            noise = torch.randn(p.shape, generator=gen, dtype=torch.float32)
            if name in ln_params and name.endswith("weight"):
                p.copy_(1.0 + 0.1 * noise)
            elif name.endswith("bias") or "bias_" in name.rsplit(".", 1)[-1] or p.dim() == 1:
                p.add_(0.1 * noise)
            else:
                p.add_(0.2 * noise)


def save_st(tensors, path, metadata=None):
    from safetensors.torch import save_file

    save_file({k: v.contiguous() for k, v in tensors.items()}, str(path), metadata=metadata)
    os.chmod(path, 0o644)


def dumps_doc(doc):
    """JSON with one key per line down to the case objects, compact values below that."""
    def compact(v):
        return json.dumps(v, ensure_ascii=False)

    lines = ["{"]
    items = list(doc.items())
    for n, (k, v) in enumerate(items):
        sep = "," if n + 1 < len(items) else ""
        if isinstance(v, list) and v and all(isinstance(x, dict) for x in v):
            lines.append(f" {compact(k)}: [")
            for m, obj in enumerate(v):
                osep = "," if m + 1 < len(v) else ""
                inner = [f"   {compact(kk)}: {compact(vv)}" for kk, vv in obj.items()]
                lines.append("  {\n" + ",\n".join(inner) + "\n  }" + osep)
            lines.append(" ]" + sep)
        else:
            lines.append(f" {compact(k)}: {compact(v)}{sep}")
    lines.append("}")
    out = "\n".join(lines) + "\n"
    assert json.loads(out) == json.loads(json.dumps(doc))
    return out


def load_st(path):
    from safetensors.torch import load_file

    return load_file(str(path))


# ----------------------------------------------------------------------------------------------
# tokenizers
# ----------------------------------------------------------------------------------------------


def train_spm(out_dir: Path, vocab_size=640):
    import sentencepiece as spm

    out_dir = Path(out_dir).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp, chdir(tmp):
        # relative names: the trainer spec stored in spm.model records them
        Path("corpus.txt").write_text("\n".join(corpus_lines()) + "\n", encoding="utf-8")
        prefix = Path(tmp) / "spm"
        spm.SentencePieceTrainer.train(
            input="corpus.txt", model_prefix="spm", model_type="unigram",
            vocab_size=vocab_size, character_coverage=1.0,
            pad_id=0, bos_id=1, eos_id=2, unk_id=3,
            pad_piece="[PAD]", bos_piece="[CLS]", eos_piece="[SEP]", unk_piece="[UNK]",
            num_threads=1, shuffle_input_sentence=False, input_sentence_size=0,
            seed_sentencepiece_size=100000, minloglevel=2,
        )
        shutil.copy(f"{prefix}.model", out_dir / "spm.model")
    return out_dir / "spm.model"


def deberta_tokenizer(spm_dir: Path):
    """The transformers (5.x) DebertaV2Tokenizer for that spm.model, as deberta-v3 ships it:
    [PAD]=0 [CLS]=1 [SEP]=2 [UNK]=3 from the model, [MASK] added after the pieces."""
    from transformers import DebertaV2Tokenizer

    tok = DebertaV2Tokenizer.from_pretrained(str(spm_dir))
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=str(spm_dir / "spm.model"))
    n = sp.get_piece_size()
    ids = {t: tok.convert_tokens_to_ids(t) for t in ["[PAD]", "[CLS]", "[SEP]", "[UNK]", "[MASK]"]}
    assert ids == {"[PAD]": 0, "[CLS]": 1, "[SEP]": 2, "[UNK]": 3, "[MASK]": n}, ids
    assert (tok.pad_token_id, tok.cls_token_id, tok.sep_token_id, tok.unk_token_id,
            tok.mask_token_id) == (0, 1, 2, 3, n)
    assert len(tok) == n + 1, (len(tok), n)
    # unknown characters must map to [UNK]=3 (the Unigram unk_id)
    assert 3 in tok("🎉")["input_ids"], tok("🎉")
    return tok


BERT_SPECIAL = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]


def bert_vocab():
    """~450 WordPiece entries: specials, characters, ##characters, frequent words, ##suffixes."""
    from tokenizers.normalizers import BertNormalizer
    from tokenizers.pre_tokenizers import BertPreTokenizer

    norm = BertNormalizer(clean_text=True, handle_chinese_chars=True, strip_accents=None,
                          lowercase=True)
    pre = BertPreTokenizer()
    counts = collections.Counter()
    for ln in corpus_lines():
        for w, _ in pre.pre_tokenize_str(norm.normalize_str(ln)):
            counts[w] += 1
    chars = sorted({c for w in counts for c in w})
    # keep most characters (some CJK ones are left out on purpose -> [UNK])
    chars = [c for c in chars if c not in "京都測"]
    vocab = list(BERT_SPECIAL) + chars
    vocab += ["##" + c for c in chars if c.isalnum() and ord(c) < 0x3000]
    vocab += ["##ing", "##ed", "##er", "##ly", "##tion", "##es", "##al", "##ist", "##ment"]
    words = [w for w, c in counts.most_common() if len(w) > 1 and w.isalpha()]
    for w in words:
        if len(vocab) >= 450:
            break
        if w not in vocab:
            vocab.append(w)
    assert len(vocab) == len(set(vocab))
    return vocab


def bert_tokenizer(vocab):
    from transformers import BertTokenizer

    # model_max_length 512 as bert-base-* ship it: GLiNER tokenizes with truncation=True, so a
    # prompt + text longer than 512 subwords is cut there (the BERT position table has 512 rows)
    tok = BertTokenizer(vocab={t: i for i, t in enumerate(vocab)}, do_lower_case=True,
                        model_max_length=512)
    ids = {t: tok.convert_tokens_to_ids(t) for t in BERT_SPECIAL}
    assert ids == {"[PAD]": 0, "[UNK]": 1, "[CLS]": 2, "[SEP]": 3, "[MASK]": 4}, ids
    assert len(tok) == len(vocab)
    return tok


# ----------------------------------------------------------------------------------------------
# encoders
# ----------------------------------------------------------------------------------------------


def deberta_v3_config(vocab_size, **over):
    from transformers import DebertaV2Config

    kw = dict(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
              intermediate_size=64, hidden_act="gelu", hidden_dropout_prob=0.1,
              attention_probs_dropout_prob=0.1, max_position_embeddings=512, type_vocab_size=0,
              initializer_range=0.02, layer_norm_eps=1e-7, relative_attention=True,
              max_relative_positions=-1, position_buckets=256, pad_token_id=0,
              position_biased_input=False, pos_att_type=["p2c", "c2p"],
              norm_rel_ebd="layer_norm", share_att_key=True)
    kw.update(over)
    return DebertaV2Config(**kw)


def bert_config(vocab_size):
    from transformers import BertConfig

    return BertConfig(vocab_size=vocab_size, hidden_size=32, num_hidden_layers=2,
                      num_attention_heads=4, intermediate_size=64, hidden_act="gelu",
                      max_position_embeddings=512, type_vocab_size=2, pad_token_id=0,
                      layer_norm_eps=1e-12)


def build_encoder_dir(kind, enc_dir: Path, tok):
    from transformers import BertModel, DebertaV2Model

    torch.manual_seed(SEED)
    if kind == "deberta":
        cfg = deberta_v3_config(len(tok))
        model = DebertaV2Model(cfg)
    else:
        cfg = bert_config(len(tok))
        model = BertModel(cfg)
    perturb(model, SEED + 10)
    model.eval()
    model.save_pretrained(str(enc_dir))
    tok.save_pretrained(str(enc_dir))


# ----------------------------------------------------------------------------------------------
# GLiNER
# ----------------------------------------------------------------------------------------------


def build_gliner(kind, work: Path, enc_name: str):
    from gliner import GLiNER, GLiNERConfig

    cfg = GLiNERConfig(
        model_name=enc_name, name=f"jner-fixture-{kind}", span_mode="markerV0",
        max_width=MAX_WIDTH, hidden_size=24 if kind == "deberta" else 32, dropout=0.4,
        fine_tune=True, subtoken_pooling="first", max_len=384, max_types=25,
        max_neg_type_ratio=1, words_splitter_type="whitespace", num_rnn_layers=1,
        fuse_layers=False, embed_ent_token=True, ent_token="<<ENT>>", sep_token="<<SEP>>",
    )
    torch.manual_seed(SEED + 20)
    with chdir(work):
        model = GLiNER.from_config(cfg, backbone_from_pretrained=True, local_files_only=True)
    enc_prefix = "token_rep_layer.bert_layer.model."
    n_before = None
    emb = model.model.token_rep_layer.get_input_embeddings()
    # perturb the GLiNER head (projection, LSTM, span marker, prompt FFN) ...
    perturb(model.model, SEED + 30, only=lambda n: not n.startswith(enc_prefix))
    # ... and the embedding rows the library added ([FLERT], <<ENT>>, <<SEP>>), which
    # resize_token_embeddings initialises near the mean of the others
    tok = model.data_processor.transformer_tokenizer
    n_before = tok.convert_tokens_to_ids("[FLERT]")
    gen = torch.Generator().manual_seed(SEED + 40)
    with torch.no_grad():
        rows = emb.weight[n_before:]
        rows.add_(0.5 * torch.randn(rows.shape, generator=gen))
    model.eval()
    calibrate(model, make_cases(kind))
    return model


def calibrate(model, cases, target_absmax=8.0, shift=1.0):
    """Random heads give logits with a large, text-dependent common offset (ReLU outputs have a
    positive mean, so <span_rep, prompt_rep> is far from 0 for every span). Over all fixture
    cases: shift the biases of the two last Linear layers (span marker out_project.3, prompt
    FFN .3) so that both representations are centred, scale those two layers so that the
    largest |logit| of any valid span cell is about target_absmax (no saturated sigmoids:
    sigmoid(x) rounds to 1.0f for x > ~16.6), then add +c*u / -c*u (u = unit vector) to the
    biases to move the mean logit down by about `shift` (fewer positives). Deterministic."""
    m = model.model
    span_last = m.span_rep_layer.span_rep_layer.out_project[3]
    prompt_last = m.prompt_rep_layer[3]

    def reps():
        out = []
        for case in cases:
            res = run_case(model, case, capture=True)
            c = res["captured"]
            W = c["span_rep"].shape[1]
            valid = (torch.arange(W)[:, None] + torch.arange(MAX_WIDTH)[None, :]) < W
            out.append((c["span_rep"][0][valid], c["prompts_out"][0], res["out"].logits[0][valid]))
        return out

    with torch.no_grad():
        r = reps()
        span_last.bias.sub_(torch.stack([s.mean(0) for s, _, _ in r]).mean(0))
        prompt_last.bias.sub_(torch.stack([p.mean(0) for _, p, _ in r]).mean(0))
        r = reps()
        q = max(float(lg.abs().max()) for _, _, lg in r)
        k = (target_absmax / q) ** 0.5
        for lin in (span_last, prompt_last):
            lin.weight.mul_(k)
            lin.bias.mul_(k)
        D = span_last.bias.shape[0]
        u = torch.ones(D) / D ** 0.5
        c = shift ** 0.5
        span_last.bias.add_(c * u)
        prompt_last.bias.sub_(c * u)
        r = reps()
    allv = torch.cat([lg.reshape(-1) for _, _, lg in r])
    log(f"  calibrated: valid logits over all cases mean {allv.mean():.3f} std {allv.std():.3f} "
        f"absmax {allv.abs().max():.3f}")


def gliner_from_dir(model_dir, strict=True):
    from gliner import GLiNER

    with chdir("/"):
        model = GLiNER.from_pretrained(str(Path(model_dir).resolve()), local_files_only=True,
                                       strict=strict)
    model.eval()
    return model


class Capture:
    """Forward hooks on the span model: encoder output (after `projection`), the LSTM input
    and output (word embeddings), the prompt FFN input/output, and the span representations."""

    def __init__(self, model):
        self.store = {}
        m = model.model
        self.handles = [
            m.token_rep_layer.register_forward_hook(self._out("token_embeds")),
            m.prompt_rep_layer.register_forward_hook(self._inout("prompts_in", "prompts_out")),
            m.span_rep_layer.register_forward_hook(self._out("span_rep")),
        ]
        if hasattr(m, "rnn"):
            self.handles.append(m.rnn.register_forward_hook(self._inout("words_in", "words_out")))

    def _out(self, key):
        def hook(_mod, _inp, out):
            self.store[key] = out.detach().clone()
        return hook

    def _inout(self, kin, kout):
        def hook(_mod, inp, out):
            self.store[kin] = inp[0].detach().clone()
            self.store[kout] = out.detach().clone()
        return hook

    def close(self):
        for h in self.handles:
            h.remove()


def run_case(model, case, capture=False):
    """The library's own inference path (GLiNER.inference = prepare_batch -> collate_batch ->
    run_batch -> decode_batch -> map_entities_to_text), keeping the batch and the logits.
    Checks the entities equal model.predict_entities(...) on the same inputs."""
    text, labels = case["text"], case["labels"]
    threshold = case.get("threshold", 0.5)
    flat_ner = case.get("flat_ner", True)
    multi_label = case.get("multi_label", False)
    cap = Capture(model) if capture else None
    try:
        with warnings.catch_warnings(record=True) as wlist:
            warnings.simplefilter("always")
            model.eval()
            prepared = model.prepare_batch([text], labels)
            collator = model.create_collator()
            batch = model.collate_batch(prepared["input_x"], prepared["entity_types"], collator,
                                        label_names=prepared["label_names"])
            out = model.run_batch(batch, threshold=threshold)
            decoded = model.decode_batch(out, batch, threshold=threshold, flat_ner=flat_ner,
                                         multi_label=multi_label)
            ents = model.map_entities_to_text(
                decoded, prepared["valid_texts"], prepared["valid_to_orig_idx"],
                prepared["start_token_map"], prepared["end_token_map"], prepared["num_original"])[0]
    finally:
        if cap:
            cap.close()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = model.predict_entities(text, labels, threshold=threshold, flat_ner=flat_ner,
                                     multi_label=multi_label)
    assert ents == ref, (case["name"], ents, ref)
    return dict(prepared=prepared, batch=batch, out=out, entities=ents,
                captured=cap.store if cap else None,
                warnings=[str(w.message) for w in wlist])


def case_record(model, case, res):
    prepared, batch, out = res["prepared"], res["batch"], res["out"]
    words = [[s, e] for s, e in zip(prepared["start_token_map"][0], prepared["end_token_map"][0])]
    logits = out.logits
    id_to_classes = batch["id_to_classes"]
    return {
        "name": case["name"],
        "text": case["text"],
        "labels": case["labels"],
        "threshold": case.get("threshold", 0.5),
        "flat_ner": case.get("flat_ner", True),
        "multi_label": case.get("multi_label", False),
        "words": words,
        "word_strings": prepared["tokens"][0],
        "num_words_before_truncation": len(words),
        "W": int(logits.shape[1]),
        "C": int(logits.shape[3]),
        "T": int(batch["input_ids"].shape[1]),
        "logits_shape": list(logits.shape),
        "id_to_classes": {str(k): v for k, v in id_to_classes.items()},
        "tokens": model.data_processor.transformer_tokenizer.convert_ids_to_tokens(
            batch["input_ids"][0].tolist()),
        "library_warnings": res["warnings"],
        "logits_min": float(logits.min()),
        "logits_max": float(logits.max()),
        **margins(logits[0], case.get("threshold", 0.5)),
        "min_gap_accepted_vs_conflicting": conflict_gap(
            logits[0], case.get("threshold", 0.5), res["entities"], prepared,
            case.get("flat_ner", True), case.get("multi_label", False)),
        "num_entities": len(res["entities"]),
        "entities": res["entities"],
    }


def margins(logits, threshold):
    """How robust the decoding is to tiny numeric differences: over the valid span cells
    (i + k < W), the smallest |sigmoid(logit) - threshold|, and the smallest gap between two
    distinct candidate scores above the threshold (the greedy decoder sorts by score)."""
    W = logits.shape[0]
    valid = (torch.arange(W)[:, None] + torch.arange(logits.shape[1])[None, :]) < W
    v = logits[valid]
    p = torch.sigmoid(v)
    cand = torch.sort(p[p > threshold], descending=True).values
    gaps = (cand[:-1] - cand[1:]) if cand.numel() > 1 else torch.tensor([])
    return {
        "valid_logits_min": float(v.min()),
        "valid_logits_max": float(v.max()),
        "num_candidates_above_threshold": int(cand.numel()),
        "min_abs_prob_minus_threshold": float((p - threshold).abs().min()),
        "min_gap_between_candidate_scores": float(gaps.min()) if gaps.numel() else None,
    }


def conflict_gap(logits, threshold, entities, prepared, flat_ner, multi_label):
    """Smallest |score(a) - score(b)| over accepted entities a and other candidates b that
    conflict with a (in the decoder's sense): when this is tiny, a port whose logits differ
    by a few ulps may pick b instead of a."""
    from gliner.decoding.utils import has_overlapping, has_overlapping_nested

    ov = has_overlapping if flat_ner else has_overlapping_nested
    starts = prepared["start_token_map"][0]
    ends = prepared["end_token_map"][0]
    W, K, C = logits.shape
    p = torch.sigmoid(logits)
    idx = torch.nonzero(p > threshold).tolist()
    cands = [(i, i + k, c, float(p[i, k, c])) for i, k, c in idx if i + k < W]
    acc = []
    for e in entities:
        i = starts.index(e["start"])
        j = ends.index(e["end"])
        acc.append((i, j, e["label"], e["score"]))
    best = None
    names = {}
    for a in acc:
        for b in cands:
            if (a[0], a[1]) == (b[0], b[1]) and abs(a[3] - b[3]) == 0.0:
                continue  # the same candidate
            if ov((a[0], a[1], a[2]), (b[0], b[1], b[2]), multi_label=multi_label):
                g = abs(a[3] - b[3])
                best = g if best is None else min(best, g)
    return best


def case_tensors(i, res, with_intermediates):
    batch, out = res["batch"], res["out"]
    t = {
        f"case{i}.logits": out.logits.float(),
        f"case{i}.input_ids": batch["input_ids"].long(),
        f"case{i}.attention_mask": batch["attention_mask"].long(),
        f"case{i}.words_mask": batch["words_mask"].long(),
        f"case{i}.text_lengths": batch["text_lengths"].long(),
    }
    W = out.logits.shape[1]
    if with_intermediates and res["captured"] and W <= 300:
        # intermediates (size budget): encoder output for all but the truncated case, the
        # rest for W <= 30, span representations for W <= 15
        c = res["captured"]
        t[f"case{i}.token_embeds"] = c["token_embeds"].float()
        if W <= 30:
            t[f"case{i}.prompts_embedding"] = out.prompts_embedding.float()
            if "words_in" in c:
                t[f"case{i}.words_embedding_pre_lstm"] = c["words_in"].float()
            t[f"case{i}.words_embedding"] = out.words_embedding.float()
        if W <= 15:
            t[f"case{i}.span_rep"] = c["span_rep"].float()
    return t


def write_cases(model, cases, out_dir: Path, extra):
    records, tensors = [], {}
    for i, case in enumerate(cases):
        res = run_case(model, case, capture=True)
        rec = case_record(model, case, res)
        records.append(rec)
        tensors.update(case_tensors(i, res, with_intermediates=True))
        log(f"  case{i} {rec['name']}: W={rec['W']} C={rec['C']} T={rec['T']} "
            f"valid logits [{rec['valid_logits_min']:.3f}, {rec['valid_logits_max']:.3f}] "
            f"cand={rec['num_candidates_above_threshold']} entities={rec['num_entities']} "
            f"margin={rec['min_abs_prob_minus_threshold']:.2e} "
            f"conflict_gap={rec['min_gap_accepted_vs_conflicting']}")
    doc = {**versions(), **extra, "cases": records}
    (out_dir / "cases.json").write_text(dumps_doc(doc), encoding="utf-8")
    save_st(tensors, out_dir / "cases.safetensors")
    return records


def state_dict_keys(model_dir: Path):
    from safetensors import safe_open

    lines = []
    with safe_open(str(model_dir / "model.safetensors"), "pt") as f:
        meta = f.metadata() or {}
        for k in sorted(f.keys()):
            sl = f.get_slice(k)
            lines.append(f"{k}\t{list(sl.get_shape())}\t{sl.get_dtype()}")
    for alias, target in sorted(meta.items()):
        lines.append(f"# alias {alias} -> {target}")
    (model_dir / "state_dict_keys.txt").write_text("\n".join(lines) + "\n")
    return lines


def make_gliner(kind, out: Path):
    log(f"== {kind}")
    if out.exists():
        shutil.rmtree(out)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        enc_name = f"tiny-{kind}-encoder"
        enc_dir = work / enc_name
        if kind == "deberta":
            spm_dir = work / "spm"
            train_spm(spm_dir)
            tok = deberta_tokenizer(spm_dir)
        else:
            tok = bert_tokenizer(bert_vocab())
        build_encoder_dir(kind, enc_dir, tok)
        model = build_gliner(kind, work, enc_name)
        model.save_pretrained(str(out), safe_serialization=True)
    state_dict_keys(out)
    tok = model.data_processor.transformer_tokenizer
    extra = {
        "model_name_note": (f"gliner_config.json's model_name '{enc_name}' was a relative path "
                            f"to a temporary folder holding the tiny random {kind} encoder and "
                            f"its tokenizer; it does not exist any more and is not needed "
                            f"(encoder_config and the tokenizer files are in this folder)."),
        "class_token_index": model.config.class_token_index,
        "vocab_size": model.config.vocab_size,
        "len_tokenizer": len(tok),
        "added_token_ids": {t: tok.convert_tokens_to_ids(t)
                            for t in ["[MASK]", "[FLERT]", "<<ENT>>", "<<SEP>>"]},
        "special_token_ids": {t: tok.convert_tokens_to_ids(t)
                              for t in ["[PAD]", "[CLS]", "[SEP]", "[UNK]"]},
        "logits_layout": "[batch=1, W, max_width=12, C]; logits[0, i, k, c] scores the span of "
                         "words i..=i+k (inclusive) for class id c+1 (id_to_classes); cells with "
                         "i+k >= W are computed from span index 0 (span_idx*span_mask) and "
                         "ignored by the decoder",
    }
    cases = make_cases(kind)
    write_cases(model, cases, out, extra)


# ----------------------------------------------------------------------------------------------
# deberta_only
# ----------------------------------------------------------------------------------------------


def make_deberta_only(out: Path):
    from transformers import DebertaV2Model

    log("== deberta_only")
    if out.exists():
        shutil.rmtree(out)
    variants = {
        "v3": dict(cfg={}, T=300, len2=237),
        "v2": dict(cfg=dict(position_buckets=16, max_relative_positions=64, share_att_key=False,
                            pos_att_type=["p2c", "c2p"], norm_rel_ebd="layer_norm",
                            relative_attention=True, position_biased_input=False),
                   T=70, len2=53),
    }
    info = {}
    for j, (name, v) in enumerate(variants.items()):
        d = out / name
        torch.manual_seed(SEED + 100 + j)
        cfg = deberta_v3_config(100, **v["cfg"])
        model = DebertaV2Model(cfg)
        perturb(model, SEED + 110 + j)
        model.eval()
        model.save_pretrained(str(d))
        gen = torch.Generator().manual_seed(SEED + 120 + j)
        T = v["T"]
        ids = torch.randint(4, 100, (2, T), generator=gen)
        ids[:, 0] = 1
        ids[0, -1] = 2
        ids[1, v["len2"] - 1] = 2
        ids[1, v["len2"]:] = 0
        mask = torch.ones(2, T, dtype=torch.long)
        mask[1, v["len2"]:] = 0
        with torch.no_grad():
            o = model(input_ids=ids, attention_mask=mask, output_hidden_states=True)
        t = {"input_ids": ids, "attention_mask": mask}
        for i, h in enumerate(o.hidden_states):
            t[f"hidden_states.{i}"] = h.float()
        assert torch.equal(o.hidden_states[-1], o.last_hidden_state)
        save_st(t, d / "hidden.safetensors")
        info[name] = dict(T=T, lengths=[T, v["len2"]], num_hidden_states=len(o.hidden_states),
                          rel_embeddings=list(model.encoder.rel_embeddings.weight.shape))
        log(f"  {name}: T={T} rel_embeddings={info[name]['rel_embeddings']} "
            f"hidden_states={len(o.hidden_states)}")
    (out / "info.json").write_text(json.dumps({**versions(), "variants": info}, indent=1) + "\n")


# ----------------------------------------------------------------------------------------------
# spm
# ----------------------------------------------------------------------------------------------

SPM_STRINGS = [
    "Hello world",
    "The patient had a fever and a cough.",
    "Hello, world! (really?) yes: no; a-b/c [x] #1 @me 50% & more...",
    "In 2023 there were 1,234.56 cases and 007 agents.",
    "café naïve résumé Müller Straße",
    "NEW YORK CITY iPhone McDonald's",
    "Zoë met José in São Paulo",
    "multiple    spaces   here",
    "  leading spaces",
    "trailing spaces   ",
    " leading and trailing ",
    "tab\tseparated\tvalues",
    "line one\nline two\r\nline three",
    "He said ``hi'' to me",
    "\"double\" 'single' ‘curly’ “curly”",
    "ﬁnancial ﬂow",
    "ＦＵＬＬ ｗｉｄｔｈ １２３",
    "①②③ ™ ½ x²",
    "I love 🍕 and 🎉!",
    "東京は日本の首都です",
    "北京 中文测试",
    "e\u0301cole cafe\u0301",
    "non\u00a0breaking\u00a0space",
    "thin\u2009space and\u3000ideographic",
    "zero\u200bwidth soft\u00adhyphen",
    "Ωmega αβγ Привет мир",
    "a",
    "under_score state-of-the-art e-mail",
    "Dr. Chloé Lefèvre, born on 3 May 1987.",
    "UPPER lower MiXeD",
]


def make_spm(out: Path, deberta_dir: Path):
    import sentencepiece as spm
    from tokenizers import AddedToken, Tokenizer
    from transformers import AutoTokenizer
    from transformers.convert_slow_tokenizer import DebertaV2Converter

    log("== spm")
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        spm_dir = Path(tmp)
        model_file = train_spm(spm_dir)
        shutil.copy(model_file, out / "spm.model")
        sp = spm.SentencePieceProcessor(model_file=str(model_file))
        n = sp.get_piece_size()
        # the library does not save spm.model with the GLiNER folder (transformers 5 writes only
        # tokenizer.json); check that this is the model deberta/tokenizer.json was built from
        tj = json.loads((deberta_dir / "tokenizer.json").read_text(encoding="utf-8"))
        vocab = tj["model"]["vocab"]
        assert [v[0] for v in vocab] == [sp.id_to_piece(i) for i in range(n)]
        assert all(abs(v[1] - sp.get_score(i)) < 1e-6 for i, v in enumerate(vocab))

        class Orig:  # what DebertaV2Converter reads from the slow tokenizer it converts
            vocab_file = str(model_file)
            do_lower_case = False
            split_by_punct = False
            add_prefix_space = True

            @staticmethod
            def convert_tokens_to_ids(t):
                return sp.piece_to_id(t)

        fast = DebertaV2Converter(Orig()).converted()
        # the slow tokenizer's [MASK] (added after the pieces, as deberta-v3's added_tokens.json)
        fast.add_special_tokens([AddedToken("[MASK]", normalized=False, special=True)])
        assert fast.token_to_id("[MASK]") == n
        fast.save(str(out / "tokenizer.json"))
        fast = Tokenizer.from_file(str(out / "tokenizer.json"))
        # what gliner uses in this environment: transformers 5's DebertaV2Tokenizer
        from gliner.model import BaseGLiNER
        from transformers import DebertaV2Tokenizer

        tf5 = BaseGLiNER._set_tokenizer_spec_tokens(DebertaV2Tokenizer.from_pretrained(str(spm_dir)))
        # deberta/'s tokenizer (with GLiNER's added tokens) encodes these strings the same way
        gl_tok = BaseGLiNER._set_tokenizer_spec_tokens(AutoTokenizer.from_pretrained(str(deberta_dir)))

    def slow_ids(text):
        return [1] + sp.encode(text) + [2]

    def slow_words_ids(words):
        return [1] + [i for w in words for i in sp.encode(w)] + [2]

    entries = []
    for s in SPM_STRINGS:
        words = s.split()
        e = {"text": s, "words": words}
        f = fast.encode(s)
        e["fast_ids"], e["fast_tokens"] = f.ids, f.tokens
        e["slow_ids"] = slow_ids(s)
        e["slow_tokens"] = [sp.id_to_piece(i) for i in e["slow_ids"]]
        e["transformers5_ids"] = tf5(s)["input_ids"]
        assert gl_tok(s)["input_ids"] == e["transformers5_ids"], s
        if words:
            fw = fast.encode(words, is_pretokenized=True)
            e["fast_words_ids"], e["fast_words_word_ids"] = fw.ids, fw.word_ids
            e["slow_words_ids"] = slow_words_ids(words)
            tw = tf5(words, is_split_into_words=True)
            e["transformers5_words_ids"] = tw["input_ids"]
            assert gl_tok(words, is_split_into_words=True)["input_ids"] == tw["input_ids"], s
        e["fast_vs_slow_differ"] = (e["fast_ids"] != e["slow_ids"]
                                    or e.get("fast_words_ids") != e.get("slow_words_ids"))
        e["transformers5_vs_fast_differ"] = (e["transformers5_ids"] != e["fast_ids"] or
                                             e.get("transformers5_words_ids") !=
                                             e.get("fast_words_ids"))
        entries.append(e)
    doc = {
        **versions(),
        "notes": [
            "fast = tokenizer.json in this folder = transformers' DebertaV2Converter output for "
            "spm.model (do_lower_case=False, split_by_punct=False, add_prefix_space=True) plus the "
            "[MASK] special token at id len(pieces); encoded with the `tokenizers` library "
            "(encode(text) / encode(words, is_pretokenized=True)), post-processor [CLS] $A [SEP].",
            "slow = the sentencepiece library on spm.model, the way transformers 4's slow "
            "DebertaV2Tokenizer does it: [CLS] + sp.encode(text) + [SEP]; for words, each word "
            "is encoded separately (4.x prepends ' ' to each word, which sentencepiece strips "
            "before adding its dummy prefix) and the pieces are concatenated.",
            "transformers5 = DebertaV2Tokenizer.from_pretrained(folder with only spm.model) in "
            f"transformers {md.version('transformers')} (then gliner's add_bos_token/"
            "add_eos_token = True, as gliner does on load): DebertaV2Tokenizer rebuilt from the "
            "vocabulary with its own normalizer (Replace(\\s{2,}|[\\n\\r\\t] -> ' '), NFC, right "
            "Strip) and no precompiled charsmap; this is what gliner uses in this environment "
            "and what deberta/tokenizer.json encodes.",
        ],
        "num_pieces": n,
        "special_ids": {"[PAD]": 0, "[CLS]": 1, "[SEP]": 2, "[UNK]": 3, "[MASK]": n},
        "strings": entries,
    }
    (out / "encodings.json").write_text(dumps_doc(doc), encoding="utf-8")
    nd = sum(e["fast_vs_slow_differ"] for e in entries)
    nt = sum(e["transformers5_vs_fast_differ"] for e in entries)
    log(f"  {len(entries)} strings; fast vs slow differ on {nd}; transformers5 vs fast on {nt}")


# ----------------------------------------------------------------------------------------------
# check / dump
# ----------------------------------------------------------------------------------------------


def load_cases(path):
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    return doc, doc["cases"]


def check(outdir: Path):
    ok = True
    for kind in ("deberta", "bert"):
        d = outdir / kind
        model = gliner_from_dir(d, strict=True)
        doc, cases = load_cases(d / "cases.json")
        ref = load_st(d / "cases.safetensors")
        assert model.config.class_token_index == doc["class_token_index"]
        for i, case in enumerate(cases):
            res = run_case(model, case)
            got = case_tensors(i, res, with_intermediates=False)
            for k, v in got.items():
                if not torch.equal(v, ref[k]):
                    diff = (v.float() - ref[k].float()).abs().max() if v.shape == ref[k].shape \
                        else f"shape {list(v.shape)} vs {list(ref[k].shape)}"
                    log(f"  MISMATCH {kind} {k}: {diff}")
                    ok = False
            if json.loads(json.dumps(res["entities"])) != case["entities"]:
                log(f"  MISMATCH {kind} case{i} entities")
                ok = False
        log(f"  {kind}: reloaded from disk, {len(cases)} cases, "
            f"{'identical' if ok else 'DIFFERENT'}")
    return ok


def dump(model_dir, cases_json, out_path, strict=True):
    model = gliner_from_dir(model_dir, strict=strict)
    _, cases = load_cases(cases_json)
    tensors, result = {}, []
    for i, case in enumerate(cases):
        res = run_case(model, case)
        tensors[f"case{i}.logits"] = res["out"].logits.float()
        result.append({"name": case.get("name", f"case{i}"), "entities": res["entities"]})
    save_st(tensors, out_path)
    print(json.dumps(result, ensure_ascii=False, indent=1))


def make(outdir: Path):
    outdir.mkdir(parents=True, exist_ok=True)
    make_gliner("deberta", outdir / "deberta")
    make_gliner("bert", outdir / "bert")
    make_deberta_only(outdir / "deberta_only")
    make_spm(outdir / "spm", outdir / "deberta")
    for f in outdir.rglob("*"):  # safetensors/transformers write some files 0600
        if f.is_file():
            os.chmod(f, 0o644)
    log("== check (fresh process)")
    subprocess.run([sys.executable, str(Path(__file__).resolve()), "check",
                    str(outdir.resolve())], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("make")
    p.add_argument("outdir", type=Path)
    p = sub.add_parser("check")
    p.add_argument("outdir", type=Path)
    p = sub.add_parser("dump")
    p.add_argument("model_dir", type=Path)
    p.add_argument("cases_json", type=Path)
    p.add_argument("out", type=Path)
    p.add_argument("--non-strict", action="store_true",
                   help="load with strict=False (the library's default)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    if a.cmd == "make":
        make(a.outdir)
    elif a.cmd == "check":
        sys.exit(0 if check(a.outdir) else 1)
    else:
        dump(a.model_dir, a.cases_json, a.out, strict=not a.non_strict)


if __name__ == "__main__":
    main()
