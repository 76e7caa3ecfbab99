//! The GLiNER model a user holds: network, tokenizer, config; loading the library's folders
//! (strictly, every key), a fresh model on any encoder, saving in the library's layout, and
//! prediction over windows and label groups so that no word and no label is dropped.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};
use tokenizers::{AddedToken, Tokenizer};

use super::config::GlinerConfig;
use super::data::{
    build_item, collate, dedup_labels, label_groups, owns_span, tokenize_text, windows, Item,
    Prompt, Specials, TokText,
};
use super::decode::{greedy, Candidate, DecodeMode};
use super::net::{GlinerNet, ENCODER_PREFIX};
use crate::encoder::{Encoder, EncoderConfig};
use crate::error::{read_json, write_json};
use crate::hf::{load_tokenizer, read_weights, weights_file};
use crate::{Result, TorchError};
use jner_corpus::offsets::CharIndex;
use jner_corpus::{Entity, PredictOptions, Recognizer};

pub const CONFIG_FILE: &str = "gliner_config.json";
/// The library adds this token to legacy checkpoints' tokenizers before `<<ENT>>`/`<<SEP>>`.
pub const FLERT: &str = "[FLERT]";
const JNER_JSON: &str = "jner.json";

/// The library's default decision threshold.
pub const DEFAULT_THRESHOLD: f32 = 0.5;

/// Tokenizer files copied into a saved model when the source had them.
const SIDE_FILES: [&str; 5] = [
    "tokenizer_config.json",
    "special_tokens_map.json",
    "spm.model",
    "vocab.txt",
    "merges.txt",
];

/// How texts are read at prediction time.
#[derive(Clone, Debug)]
pub struct Reading {
    /// Words shared by two consecutive windows.
    pub overlap: usize,
    /// Subword tokens per encoder input (specials included).
    pub max_tokens: usize,
}

/// A GLiNER model.
pub struct GlinerModel {
    pub(crate) net: Mutex<GlinerNet>,
    pub(crate) tokenizer: Tokenizer,
    pub(crate) specials: Specials,
    pub config: GlinerConfig,
    /// Labels it was trained on (`jner.json`); the default prompt.
    pub(crate) labels: Vec<String>,
    pub reading: Reading,
    side_files: Vec<(String, Vec<u8>)>,
}

fn side_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    SIDE_FILES
        .iter()
        .filter_map(|f| std::fs::read(dir.join(f)).ok().map(|b| (f.to_string(), b)))
        .collect()
}

/// The tokenizer of an encoder folder: `tokenizer.json`, else a SentencePiece `spm.model`
/// converted as `transformers` converts DeBERTa-v2/v3's.
pub fn base_tokenizer(dir: &Path) -> Result<Tokenizer> {
    let json = dir.join("tokenizer.json");
    if json.is_file() {
        return load_tokenizer(&json);
    }
    let spm = dir.join("spm.model");
    if spm.is_file() {
        let mut t = crate::spm::tokenizer_from_spm(&spm)?;
        t.with_truncation(None).map_err(TorchError::tokenizer)?;
        t.with_padding(None);
        return Ok(t);
    }
    Err(TorchError::Missing {
        what: "a tokenizer (tokenizer.json or spm.model)".into(),
        path: dir.to_path_buf(),
        hint: "GLiNER v2.1 checkpoints ship none: it comes from the encoder named by model_name in gliner_config.json (a folder or hub id holding tokenizer.json or spm.model)".into(),
    })
}

/// Adds `tokens` the tokenizer lacks, in order, as the library's `add_tokens`.
fn add_tokens(tok: &mut Tokenizer, tokens: &[&str]) {
    let missing: Vec<AddedToken> = tokens
        .iter()
        .filter(|t| tok.token_to_id(t).is_none())
        .map(|t| AddedToken::from(t.to_string(), false))
        .collect();
    if !missing.is_empty() {
        tok.add_tokens(&missing);
    }
}

/// Copies `weights` into every variable of `vs`, naming every missing and every unexpected
/// key (the library's `strict=False` would silently keep random weights). Buffers the library
/// saves (`*.position_ids`) and BERT's unused pooler may be absent or present.
pub fn load_strict(
    vs: &nn::VarStore,
    weights: &HashMap<String, Tensor>,
    file: &Path,
) -> Result<()> {
    let vars = vs.variables();
    let mut missing = Vec::new();
    let mut wrong = Vec::new();
    for (name, var) in &vars {
        match weights.get(name) {
            Some(src) if src.size() == var.size() => tch::no_grad(|| {
                let mut v = var.shallow_clone();
                v.copy_(&src.to_device(v.device()));
            }),
            Some(src) => wrong.push(format!(
                "{name}: {:?} in the file, {:?} in the model",
                src.size(),
                var.size()
            )),
            None => {
                let rel = name.strip_prefix(ENCODER_PREFIX).unwrap_or(name);
                if !(name.starts_with(ENCODER_PREFIX) && Encoder::optional_weight(rel)) {
                    missing.push(name.clone());
                }
            }
        }
    }
    let mut unexpected: Vec<&String> = weights
        .keys()
        .filter(|k| !vars.contains_key(*k) && !k.ends_with("position_ids"))
        .filter(|k| {
            !k.strip_prefix(ENCODER_PREFIX)
                .is_some_and(Encoder::optional_weight)
        })
        .collect();
    if missing.is_empty() && unexpected.is_empty() && wrong.is_empty() {
        return Ok(());
    }
    missing.sort();
    unexpected.sort();
    wrong.sort();
    let mut msg = format!(
        "{}: the weights do not match the model its config describes",
        file.display()
    );
    let list = |v: Vec<String>| {
        let n = v.len();
        let mut s: Vec<String> = v.into_iter().take(20).collect();
        if n > 20 {
            s.push(format!("… {} more", n - 20));
        }
        s.join(", ")
    };
    if !missing.is_empty() {
        msg += &format!("; missing {} key(s): {}", missing.len(), list(missing));
    }
    if !unexpected.is_empty() {
        let n = unexpected.len();
        msg += &format!(
            "; unexpected {n} key(s): {}",
            list(unexpected.into_iter().cloned().collect())
        );
    }
    if !wrong.is_empty() {
        msg += &format!("; wrong shapes: {}", list(wrong));
    }
    Err(TorchError::invalid(msg))
}

impl GlinerModel {
    /// Loads a model folder: the library's (`gliner_config.json` + `model.safetensors` or
    /// `pytorch_model.bin`, a tokenizer or the encoder's) or one jner saved.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_on(dir, Device::Cpu)
    }

    pub fn load_on(dir: &Path, device: Device) -> Result<Self> {
        let cfg_path = dir.join(CONFIG_FILE);
        if !cfg_path.is_file() {
            return Err(TorchError::Missing {
                what: format!("a GLiNER model ({CONFIG_FILE})"),
                path: dir.to_path_buf(),
                hint: "Train one with `jner train --backend gliner` or give a folder saved by gliner's save_pretrained.".into(),
            });
        }
        let raw: Value = read_json(&cfg_path)?;
        let mut cfg = GlinerConfig::from_json(&raw, &cfg_path)?;
        let weights_path = weights_file(dir)?;
        // the encoder's folder, when the model's own lacks the tokenizer or the encoder config
        let has_tok = dir.join("tokenizer.json").is_file() || dir.join("spm.model").is_file();
        let base_dir = if has_tok && cfg.encoder_config.is_some() {
            None
        } else {
            Some(crate::hub::resolve_model_dir(&cfg.model_name).map_err(|e| {
                TorchError::invalid(format!(
                    "{}: the checkpoint has no {} and its encoder `{}` (model_name) could not be found: {e}",
                    dir.display(),
                    if has_tok { "encoder_config" } else { "tokenizer" },
                    cfg.model_name
                ))
            })?)
        };
        let mut tokenizer = match (&base_dir, has_tok) {
            (_, true) => base_tokenizer(dir)?,
            (Some(b), false) => base_tokenizer(b)?,
            (None, false) => unreachable!("base_dir is set when there is no tokenizer"),
        };
        let legacy = cfg.class_token_index.is_none() || cfg.vocab_size.is_none();
        if legacy {
            add_tokens(&mut tokenizer, &[FLERT, &cfg.ent_token, &cfg.sep_token]);
        } else {
            add_tokens(&mut tokenizer, &[&cfg.ent_token, &cfg.sep_token]);
        }
        let ent_id = tokenizer
            .token_to_id(&cfg.ent_token)
            .map(i64::from)
            .expect("added above");
        if let Some(c) = cfg.class_token_index {
            if c != ent_id {
                return Err(TorchError::invalid(format!(
                    "{}: class_token_index is {c} but the tokenizer gives `{}` id {ent_id}",
                    cfg_path.display(),
                    cfg.ent_token
                )));
            }
        }
        let mut enc_json = match &cfg.encoder_config {
            Some(e) => e.clone(),
            None => read_json(&base_dir.as_ref().expect("set").join("config.json"))?,
        };
        let vocab = cfg
            .vocab_size
            .unwrap_or(tokenizer.get_vocab_size(true) as i64);
        enc_json["vocab_size"] = json!(vocab);
        let enc = EncoderConfig::from_json(&enc_json)
            .map_err(|e| TorchError::invalid(format!("{}: {e}", cfg_path.display())))?;
        crate::bert::check_size(enc.n_params(), &weights_path)?;
        cfg.class_token_index = Some(ent_id);
        cfg.vocab_size = Some(vocab);
        cfg.encoder_config = Some(enc_json);
        let net = GlinerNet::new(device, &cfg, &enc);
        load_strict(&net.vs, &read_weights(&weights_path)?, &weights_path)?;
        let labels = read_json::<Value>(&dir.join(JNER_JSON))
            .ok()
            .and_then(|v| {
                v.get("labels").and_then(Value::as_array).map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str().map(str::to_string))
                        .collect()
                })
            })
            .unwrap_or_default();
        let mut files = base_dir.as_deref().map(side_files).unwrap_or_default();
        for (n, b) in side_files(dir) {
            files.retain(|(m, _)| *m != n);
            files.push((n, b));
        }
        Self::assemble(net, tokenizer, cfg, labels, files)
    }

    /// A fresh model on a Hugging Face encoder folder (new head, `hidden_size` 512, the
    /// library's defaults), for `labels`.
    pub fn from_encoder(
        encoder_dir: &Path,
        model_name: &str,
        labels: &[String],
        device: Device,
    ) -> Result<Self> {
        let enc_json: Value = read_json(&encoder_dir.join("config.json"))?;
        let mut tokenizer = base_tokenizer(encoder_dir)?;
        let mut cfg = GlinerConfig::fresh(model_name, enc_json.clone());
        let n_before = tokenizer.get_vocab_size(true) as i64;
        // as the library: [FLERT] too, so class_token_index is where it puts it
        add_tokens(&mut tokenizer, &[FLERT, &cfg.ent_token, &cfg.sep_token]);
        let vocab = tokenizer.get_vocab_size(true) as i64;
        let mut enc_json = enc_json;
        enc_json["vocab_size"] = json!(vocab);
        let enc = EncoderConfig::from_json(&enc_json)?;
        let ent_id = i64::from(tokenizer.token_to_id(&cfg.ent_token).expect("added"));
        cfg.class_token_index = Some(ent_id);
        cfg.vocab_size = Some(vocab);
        cfg.encoder_config = Some(enc_json);
        let net = GlinerNet::new(device, &cfg, &enc);
        // the encoder's weights; the added tokens' rows start at the mean of the others (as
        // transformers' `resize_token_embeddings`, which the library calls, does)
        let w = read_weights(&weights_file(encoder_dir)?)?;
        crate::hf::load_encoder_weights(&net.vs, ENCODER_PREFIX, &w)?;
        let name = format!("{ENCODER_PREFIX}embeddings.word_embeddings.weight");
        if let Some(emb) = net.vs.variables().get(&name) {
            let rows = emb.size()[0];
            if rows > n_before {
                tch::no_grad(|| {
                    let mean = emb.narrow(0, 0, n_before).mean_dim(0, true, Kind::Float);
                    let mut added = emb.narrow(0, n_before, rows - n_before);
                    added.copy_(&mean.expand_as(&added));
                });
            }
        }
        Self::assemble(
            net,
            tokenizer,
            cfg,
            labels.to_vec(),
            side_files(encoder_dir),
        )
    }

    fn assemble(
        net: GlinerNet,
        tokenizer: Tokenizer,
        config: GlinerConfig,
        labels: Vec<String>,
        side_files: Vec<(String, Vec<u8>)>,
    ) -> Result<Self> {
        let specials = Specials::from_tokenizer(
            &tokenizer,
            net.encoder_config.pad_token_id(),
            &config.ent_token,
            &config.sep_token,
        )?;
        let max_tokens = net.encoder_config.max_tokens().min(512);
        let reading = Reading {
            overlap: (config.max_width)
                .max(config.max_len / 8)
                .min(config.max_len / 2),
            max_tokens,
        };
        Ok(GlinerModel {
            net: Mutex::new(net),
            tokenizer,
            specials,
            config,
            labels,
            reading,
            side_files,
        })
    }

    /// Writes the library's layout (`gliner_config.json`, `model.safetensors`, tokenizer
    /// files) plus `jner.json` (last, with the sha256 of the weights and the tokenizer).
    pub fn save(&self, dir: &Path, meta: Value) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| TorchError::io(dir, e))?;
        write_json(&dir.join(CONFIG_FILE), &self.config.to_json())?;
        crate::hf::write_vars(
            &self.net.lock().expect("model lock").vs,
            &dir.join("model.safetensors"),
        )?;
        self.tokenizer
            .save(dir.join("tokenizer.json"), false)
            .map_err(TorchError::tokenizer)?;
        for (name, bytes) in &self.side_files {
            let p = dir.join(name);
            std::fs::write(&p, bytes).map_err(|e| TorchError::io(&p, e))?;
        }
        let added: serde_json::Map<String, Value> =
            [FLERT, &self.config.ent_token, &self.config.sep_token]
                .iter()
                .filter_map(|t| {
                    self.tokenizer
                        .token_to_id(t)
                        .map(|i| (t.to_string(), json!(i)))
                })
                .collect();
        write_json(&dir.join("added_tokens.json"), &Value::Object(added))?;
        let digests =
            jner_run::digest::digest_files(dir, &["model.safetensors", "tokenizer.json"])?;
        write_json(
            &dir.join(JNER_JSON),
            &json!({"backend": "gliner", "labels": self.labels, "meta": meta,
                    (jner_run::digest::DIGESTS_KEY): digests}),
        )
    }

    pub fn device(&self) -> Device {
        self.net.lock().expect("model lock").vs.device()
    }

    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    pub fn specials(&self) -> &Specials {
        &self.specials
    }

    /// Runs `f` with the network (locked for the call).
    pub fn with_net<R>(&self, f: impl FnOnce(&GlinerNet) -> R) -> R {
        f(&self.net.lock().expect("model lock"))
    }

    pub fn tokenize(&self, text: &str) -> Result<TokText> {
        tokenize_text(&self.tokenizer, text)
    }

    /// The prompts for `labels` (de-duplicated): one, or several groups when a single prompt
    /// would take more than half the encoder's input.
    pub fn prompts(&self, labels: &[String]) -> Result<Vec<Prompt>> {
        let labels = dedup_labels(labels);
        if labels.is_empty() {
            return Err(TorchError::invalid("no labels to look for"));
        }
        let room = self
            .reading
            .max_tokens
            .saturating_sub(self.specials.n_special());
        label_groups(&self.tokenizer, &labels, &self.specials, room / 2)
    }

    /// Windows of a text for a prompt.
    pub fn windows(&self, t: &TokText, prompt: &Prompt) -> Vec<(usize, usize)> {
        let counts: Vec<usize> = t.pieces.iter().map(Vec::len).collect();
        let budget = self
            .reading
            .max_tokens
            .saturating_sub(self.specials.n_special() + prompt.ids.len());
        windows(&counts, self.config.max_len, budget, self.reading.overlap)
    }

    /// Raw logits `[1, w, max_width, c]` of one text read as one window with one prompt (no
    /// windowing: for parity checks against the library).
    pub fn logits_one(&self, text: &str, labels: &[String]) -> Result<Tensor> {
        let batch = self.batch_one(text, labels)?;
        let net = self.net.lock().expect("model lock");
        Ok(tch::no_grad(|| net.logits(&batch, false)))
    }

    /// Every stage of [`GlinerModel::logits_one`]'s forward pass, laid out as the library's.
    pub fn parts_one(&self, text: &str, labels: &[String]) -> Result<super::net::Parts> {
        let batch = self.batch_one(text, labels)?;
        let net = self.net.lock().expect("model lock");
        Ok(tch::no_grad(|| net.forward_parts(&batch, false)))
    }

    fn batch_one(&self, text: &str, labels: &[String]) -> Result<super::data::Batch> {
        let t = self.tokenize(text)?;
        let prompt = Prompt::new(&self.tokenizer, &dedup_labels(labels), &self.specials)?;
        let item = build_item(&t, (0, t.words.len()), &prompt, &self.specials);
        let net = self.net.lock().expect("model lock");
        if let Some(limit) = net.encoder_config.hard_limit() {
            if item.input_ids.len() > limit {
                return Err(TorchError::invalid(format!(
                    "prompt and text take {} subword tokens, more than the encoder's {limit}: read it with predict_texts, which windows it",
                    item.input_ids.len()
                )));
            }
        }
        Ok(collate(&[&item], self.specials.pad))
    }

    /// Entities of each text for `labels`, character offsets.
    pub fn predict_texts(
        &self,
        texts: &[&str],
        labels: &[String],
        threshold: f32,
        mode: DecodeMode,
        batch_size: usize,
    ) -> Result<Vec<Vec<Entity>>> {
        let prompts = self.prompts(labels)?;
        let mut names: Vec<String> = Vec::new();
        for p in &prompts {
            names.extend(p.labels.iter().cloned());
        }
        let toks = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<Vec<_>>>()?;
        let mut cands: Vec<Vec<Candidate>> = vec![Vec::new(); texts.len()];
        let k = self.config.max_width;
        let net = self.net.lock().expect("model lock");
        let mut label_base = 0;
        for prompt in &prompts {
            // (text, windows of it, window index, item)
            let mut items: Vec<(usize, usize, (usize, usize), Item)> = Vec::new();
            let mut all_windows: Vec<Vec<(usize, usize)>> = Vec::with_capacity(toks.len());
            for (ti, t) in toks.iter().enumerate() {
                let ws = self.windows(t, prompt);
                for (wi, &w) in ws.iter().enumerate() {
                    items.push((ti, wi, w, build_item(t, w, prompt, &self.specials)));
                }
                all_windows.push(ws);
            }
            // similar lengths together: less padding
            items.sort_by_key(|(_, _, _, it)| it.input_ids.len());
            let c = prompt.labels.len();
            for chunk in items.chunks(batch_size.max(1)) {
                let refs: Vec<&Item> = chunk.iter().map(|x| &x.3).collect();
                let batch = collate(&refs, self.specials.pad);
                let probs = tch::no_grad(|| net.logits(&batch, false).sigmoid())
                    .to_device(Device::Cpu)
                    .to_kind(Kind::Float)
                    .contiguous();
                let probs = Vec::<f32>::try_from(probs.view([-1]))?;
                let (w, bc) = (batch.w, batch.c);
                for (r, (ti, wi, win, it)) in chunk.iter().enumerate() {
                    let n = it.word_pos.len();
                    for i in 0..n {
                        for j in 0..k.min(n - i) {
                            let base = ((r * w + i) * k + j) * bc;
                            for (ci, &p) in probs[base..base + c].iter().enumerate() {
                                if p > threshold {
                                    let (a, b) = (win.0 + i, win.0 + i + j);
                                    if owns_span(&all_windows[*ti], *wi, a, b) {
                                        cands[*ti].push(Candidate {
                                            start: a,
                                            end: b,
                                            label: label_base + ci,
                                            score: p,
                                        });
                                    }
                                }
                            }
                        }
                    }
                }
            }
            label_base += c;
        }
        drop(net);
        Ok(texts
            .iter()
            .zip(&toks)
            .zip(cands)
            .map(|((text, t), cs)| {
                let ix = CharIndex::new(text);
                greedy(cs, mode)
                    .into_iter()
                    .map(|c| Entity {
                        start: ix.to_char(t.words[c.start].0).expect("word boundary"),
                        end: ix.to_char(t.words[c.end].1).expect("word boundary"),
                        label: names[c.label].clone(),
                        score: c.score,
                    })
                    .collect()
            })
            .collect())
    }

    /// The labels it was trained on.
    pub fn trained_labels(&self) -> &[String] {
        &self.labels
    }
}

impl Recognizer for GlinerModel {
    fn labels(&self) -> &[String] {
        &self.labels
    }
    fn zero_shot(&self) -> bool {
        true
    }
    fn default_threshold(&self) -> f32 {
        DEFAULT_THRESHOLD
    }
    /// Encoder passes: the windows of the text for every prompt (labels beyond one prompt's
    /// room are split into several prompts).
    fn windows(&self, text: &str, opts: &PredictOptions) -> usize {
        let labels = opts.labels.as_deref().unwrap_or(&self.labels);
        let (Ok(prompts), Ok(t)) = (self.prompts(labels), self.tokenize(text)) else {
            return 1;
        };
        prompts
            .iter()
            .map(|p| GlinerModel::windows(self, &t, p).len())
            .sum::<usize>()
            .max(1)
    }
    /// libtorch's intra-op threads (process-wide).
    fn set_threads(&mut self, threads: usize) {
        tch::set_num_threads(threads.max(1) as i32);
    }
    fn predict(
        &self,
        texts: &[&str],
        opts: &PredictOptions,
    ) -> std::result::Result<Vec<Vec<Entity>>, Box<dyn std::error::Error + Send + Sync>> {
        let labels = match &opts.labels {
            Some(l) => l.clone(),
            None if !self.labels.is_empty() => self.labels.clone(),
            None => {
                return Err(Box::new(TorchError::invalid(
                    "this GLiNER model records no labels of its own: name the labels to look for (--labels a,b,c)",
                )))
            }
        };
        let mode = DecodeMode {
            nested: opts.nested,
            multi_label: opts.multi_label,
        };
        Ok(self.predict_texts(
            texts,
            &labels,
            opts.threshold.unwrap_or(DEFAULT_THRESHOLD),
            mode,
            opts.batch_size,
        )?)
    }
}

/// Where a model folder's weights are (for messages).
pub fn model_weights_path(dir: &Path) -> PathBuf {
    weights_file(dir).unwrap_or_else(|_| dir.join("model.safetensors"))
}
