//! The SpanMarker network (encoder + concatenated-marker classifier) and the model a user
//! holds: tokenizer, labels, lengths, save/load in the Python `span_marker` library's layout.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};
use tch::{nn, Device, Kind, Tensor};
use tokenizers::{AddedToken, Tokenizer};

use super::data::{
    build_samples, collate, collate_shared, greedy_decode, tokenize, Batch, Layout, Sample, Scored,
    SharedBatch, SpecialIds, TokDoc, END_MARKER, START_MARKER,
};
use crate::bert::{BertConfig, BertModel, Linear};
use crate::dropout::dropout;
use crate::error::{read_json, write_json};
use crate::hf::{load_encoder_weights, load_tokenizer, read_weights, weights_file};
use crate::{Result, TorchError};
use jner_corpus::offsets::CharIndex;
use jner_corpus::{Entity, PredictOptions, Recognizer};

/// The `span_marker` version whose file layout we write.
pub const SPAN_MARKER_VERSION: &str = "1.8.1";
/// Name of our own metadata file in a model folder.
pub const JNER_JSON: &str = "jner.json";

/// Encoder + head. Variable names are the Python library's: `encoder.…`, `classifier.weight`,
/// `classifier.bias`.
pub struct SpanMarkerNet {
    pub vs: nn::VarStore,
    pub encoder: BertModel,
    pub classifier: Linear,
    pub dropout: f64,
}

impl SpanMarkerNet {
    pub fn new(device: Device, encoder: &BertConfig, num_labels: usize) -> Self {
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let enc = BertModel::new(&(&root / "encoder"), encoder);
        let classifier = Linear::new(
            &(&root / "classifier"),
            2 * encoder.hidden_size,
            num_labels as i64,
            encoder.initializer_range,
        );
        SpanMarkerNet {
            vs,
            encoder: enc,
            classifier,
            dropout: encoder.hidden_dropout_prob,
        }
    }

    /// Logits `[pairs, num_labels]` of every marker pair of the batch, in sample order: each
    /// window's text is encoded once for all its pairs ([`BertModel::forward_markers`]).
    pub fn logits(&self, b: &SharedBatch, train: bool) -> Tensor {
        let dev = self.vs.device();
        let ids = Tensor::from_slice(&b.ids).to(dev);
        let pos = Tensor::from_slice(&b.pos).to(dev);
        let x = self.encoder.forward_markers(&ids, &pos, &b.windows, train);
        let x = dropout(&x, self.dropout, train);
        let si = Tensor::from_slice(&b.start_index).to(dev);
        let ei = Tensor::from_slice(&b.end_index).to(dev);
        let feat = Tensor::cat(&[x.index_select(0, &si), x.index_select(0, &ei)], 1);
        let feat = dropout(&feat, self.dropout, train);
        self.classifier.forward(&feat)
    }

    /// Mean cross-entropy over the batch's pairs.
    pub fn loss(&self, b: &SharedBatch, train: bool) -> Tensor {
        let labels = Tensor::from_slice(&b.labels).to(self.vs.device());
        self.logits(b, train).cross_entropy_for_logits(&labels)
    }

    /// The same logits computed as SpanMarker lays samples out: `[text][markers]` per sample
    /// under the 4-D attention mask ([`collate`]), the text repeated in every sample. The
    /// reference [`SpanMarkerNet::logits`] is tested against.
    pub fn logits_masked(&self, b: &Batch, train: bool) -> Tensor {
        let dev = self.vs.device();
        let (bs, t) = (b.batch as i64, b.seq as i64);
        let ids = Tensor::from_slice(&b.input_ids).view([bs, t]).to(dev);
        let pos = Tensor::from_slice(&b.position_ids).view([bs, t]).to(dev);
        let mask = Tensor::from_slice(&b.mask).view([bs, 1, t, t]).to(dev);
        let h = self
            .encoder
            .forward(&ids, Some(&pos), None, Some(&mask), train);
        let h = dropout(&h, self.dropout, train);
        let hidden = self.encoder.config.hidden_size;
        let flat = h.view([bs * t, hidden]);
        let si = Tensor::from_slice(&b.start_index).to(dev);
        let ei = Tensor::from_slice(&b.end_index).to(dev);
        let feat = Tensor::cat(&[flat.index_select(0, &si), flat.index_select(0, &ei)], 1);
        let feat = dropout(&feat, self.dropout, train);
        self.classifier.forward(&feat)
    }
}

/// A SpanMarker model: what `load` returns and `train` produces.
pub struct SpanMarkerModel {
    pub(crate) net: Mutex<SpanMarkerNet>,
    pub(crate) tokenizer: Tokenizer,
    pub(crate) special: SpecialIds,
    pub(crate) layout: Layout,
    /// Class names by id, `O` included (the config's `id2label`).
    pub(crate) id2label: Vec<String>,
    pub(crate) outside_id: usize,
    /// Entity labels (all but `O`), what [`Recognizer::labels`] returns.
    pub(crate) entity_labels: Vec<String>,
    /// The encoder's config dict as it goes into `config.json`'s `encoder`.
    pub(crate) encoder_json: Value,
    /// Tokenizer side files copied from the encoder folder (name → content).
    pub(crate) tokenizer_files: Vec<(String, Vec<u8>)>,
}

/// Rounds up to a multiple of 8, as `resize_token_embeddings(pad_to_multiple_of=8)`.
fn round8(n: i64) -> i64 {
    (n + 7) / 8 * 8
}

fn label_maps(id2label: &[String]) -> (Value, Value) {
    let id2 = id2label
        .iter()
        .enumerate()
        .map(|(i, l)| (i.to_string(), json!(l)))
        .collect::<serde_json::Map<_, _>>();
    let l2id = id2label
        .iter()
        .enumerate()
        .map(|(i, l)| (l.clone(), json!(i)))
        .collect::<serde_json::Map<_, _>>();
    (Value::Object(id2), Value::Object(l2id))
}

const TOKENIZER_SIDE_FILES: [&str; 4] = [
    "tokenizer_config.json",
    "special_tokens_map.json",
    "vocab.txt",
    "merges.txt",
];

fn read_side_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    TOKENIZER_SIDE_FILES
        .iter()
        .filter_map(|f| std::fs::read(dir.join(f)).ok().map(|b| (f.to_string(), b)))
        .collect()
}

impl SpanMarkerModel {
    /// A fresh model on top of a Hugging Face encoder folder: `O` plus `labels` as classes,
    /// the markers added to the tokenizer, the embeddings resized to a multiple of 8.
    pub fn from_encoder(
        encoder_dir: &Path,
        labels: &[String],
        layout: Layout,
        device: Device,
    ) -> Result<Self> {
        let mut encoder_json: Value = read_json(&encoder_dir.join("config.json"))?;
        let mut cfg = BertConfig::from_json(&encoder_json)?;
        let mut tokenizer = load_tokenizer(&encoder_dir.join("tokenizer.json"))?;
        tokenizer.add_special_tokens(&[
            AddedToken::from(START_MARKER, true),
            AddedToken::from(END_MARKER, true),
        ]);
        cfg.vocab_size = round8(tokenizer.get_vocab_size(true) as i64);
        let special = SpecialIds::from_tokenizer(&tokenizer, cfg.pad_token_id)?;
        layout.validate(cfg.max_position_embeddings as usize, special.n_special())?;
        let mut id2label = vec!["O".to_string()];
        for l in labels {
            if l == "O" {
                return Err(TorchError::invalid("`O` is not an entity label"));
            }
            if !id2label.contains(l) {
                id2label.push(l.clone());
            }
        }
        let net = SpanMarkerNet::new(device, &cfg, id2label.len());
        let weights = read_weights(&weights_file(encoder_dir)?)?;
        load_encoder_weights(&net.vs, "encoder.", &weights)?;
        if let Value::Object(m) = &mut encoder_json {
            m.insert("vocab_size".into(), json!(cfg.vocab_size));
            // The Python library rebuilds the encoder and its tokenizer from this path when it
            // loads the model, as it would from the name given to `from_pretrained`.
            let path = encoder_dir
                .canonicalize()
                .unwrap_or_else(|_| encoder_dir.to_path_buf());
            m.insert("_name_or_path".into(), json!(path.display().to_string()));
            let (id2, l2id) = label_maps(&id2label);
            m.insert("id2label".into(), id2);
            m.insert("label2id".into(), l2id);
            m.remove("trust_remote_code");
        }
        Ok(SpanMarkerModel {
            net: Mutex::new(net),
            tokenizer,
            special,
            layout,
            entity_labels: id2label[1..].to_vec(),
            id2label,
            outside_id: 0,
            encoder_json,
            tokenizer_files: read_side_files(encoder_dir),
        })
    }

    /// Loads a model folder written by [`SpanMarkerModel::save`] or by the Python library.
    pub fn load(dir: &Path) -> Result<Self> {
        Self::load_on(dir, Device::Cpu)
    }

    /// [`SpanMarkerModel::load`] onto a device.
    pub fn load_on(dir: &Path, device: Device) -> Result<Self> {
        let config_path = dir.join("config.json");
        if !config_path.is_file() {
            return Err(TorchError::Missing {
                what: "a SpanMarker model (config.json)".into(),
                path: dir.to_path_buf(),
                hint: "Train one with `jner train --backend spanmarker` or give a folder saved \
                       by span_marker's save_pretrained."
                    .into(),
            });
        }
        let config: Value = read_json(&config_path)?;
        if config.get("model_type").and_then(Value::as_str) != Some("span-marker") {
            return Err(TorchError::invalid(format!(
                "{}: model_type is not `span-marker`",
                config_path.display()
            )));
        }
        let mut encoder_json = config
            .get("encoder")
            .cloned()
            .ok_or_else(|| TorchError::invalid("config.json has no `encoder`"))?;
        if let Value::Object(m) = &mut encoder_json {
            m.remove("trust_remote_code");
        }
        let cfg = BertConfig::from_json(&encoder_json)?;
        cfg.check_against_file(&weights_file(dir)?)?;
        // The library drops the top-level maps when they equal the encoder's (unschemed
        // labels) and reads the encoder's through its attribute fallback; do the same.
        let id2label_map = config
            .get("id2label")
            .or_else(|| encoder_json.get("id2label"))
            .and_then(Value::as_object)
            .ok_or_else(|| TorchError::invalid("config.json has no `id2label`"))?;
        let mut id2label = vec![String::new(); id2label_map.len()];
        for (k, v) in id2label_map {
            let i: usize = k
                .parse()
                .map_err(|_| TorchError::invalid(format!("id2label key `{k}`")))?;
            let slot = id2label
                .get_mut(i)
                .ok_or_else(|| TorchError::invalid(format!("id2label id {i} out of range")))?;
            *slot = v.as_str().unwrap_or_default().to_string();
        }
        let outside_id = id2label
            .iter()
            .position(|l| l == "O")
            .ok_or_else(|| TorchError::invalid("id2label has no `O` label"))?;
        let get = |k: &str, d: usize| {
            config
                .get(k)
                .and_then(Value::as_u64)
                .map_or(d, |v| v as usize)
        };
        let mut model_max_length = get("model_max_length", get("model_max_length_default", 512));
        let tok_cfg: Option<Value> = read_json(&dir.join("tokenizer_config.json")).ok();
        if let Some(m) = tok_cfg
            .as_ref()
            .and_then(|t| t.get("model_max_length"))
            .and_then(Value::as_u64)
        {
            model_max_length = model_max_length.min(m as usize);
        }
        let layout = Layout {
            model_max_length,
            marker_max_length: get("marker_max_length", 128),
            entity_max_length: get("entity_max_length", 8),
        };
        let mut tokenizer = load_tokenizer(&dir.join("tokenizer.json"))?;
        if tokenizer.token_to_id(START_MARKER).is_none() {
            tokenizer.add_special_tokens(&[
                AddedToken::from(START_MARKER, true),
                AddedToken::from(END_MARKER, true),
            ]);
        }
        let special = SpecialIds::from_tokenizer(&tokenizer, cfg.pad_token_id)?;
        layout.validate(cfg.max_position_embeddings as usize, special.n_special())?;
        let net = SpanMarkerNet::new(device, &cfg, id2label.len());
        let weights = read_weights(&weights_file(dir)?)?;
        load_exact(&net.vs, &weights)?;
        Ok(SpanMarkerModel {
            net: Mutex::new(net),
            tokenizer,
            special,
            layout,
            entity_labels: id2label
                .iter()
                .enumerate()
                .filter(|&(i, _)| i != outside_id)
                .map(|(_, l)| l.clone())
                .collect(),
            id2label,
            outside_id,
            encoder_json,
            tokenizer_files: read_side_files(dir),
        })
    }

    /// The `config.json` the Python library writes for this model.
    pub fn config_json(&self) -> Value {
        let (id2, l2id) = label_maps(&self.id2label);
        let vocab = self
            .net
            .lock()
            .expect("model lock")
            .encoder
            .config
            .vocab_size;
        json!({
            "architectures": ["SpanMarkerModel"],
            "model_type": "span-marker",
            "encoder": self.encoder_json,
            "entity_max_length": self.layout.entity_max_length,
            "marker_max_length": self.layout.marker_max_length,
            "model_max_length": self.layout.model_max_length,
            "model_max_length_default": 512,
            "max_next_context": null,
            "max_prev_context": null,
            "trained_with_document_context": false,
            "span_marker_version": SPAN_MARKER_VERSION,
            "id2label": id2,
            "label2id": l2id,
            "vocab_size": vocab,
            "torch_dtype": "float32",
        })
    }

    /// Writes `jner.json`, `config.json`, `model.safetensors` and the tokenizer files into
    /// `dir` (created if needed).
    pub fn save(&self, dir: &Path, meta: Value) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(|e| TorchError::io(dir, e))?;
        write_json(&dir.join("config.json"), &self.config_json())?;
        crate::hf::write_vars(
            &self.net.lock().expect("model lock").vs,
            &dir.join("model.safetensors"),
        )?;
        let tok_path = dir.join("tokenizer.json");
        self.tokenizer
            .save(&tok_path, false)
            .map_err(TorchError::tokenizer)?;
        for (name, bytes) in &self.tokenizer_files {
            let mut bytes = bytes.clone();
            if name == "tokenizer_config.json" {
                if let Ok(mut v) = serde_json::from_slice::<Value>(&bytes) {
                    v["model_max_length"] = json!(self.layout.model_max_length);
                    bytes = serde_json::to_vec_pretty(&v).unwrap_or(bytes);
                }
            }
            let p = dir.join(name);
            std::fs::write(&p, bytes).map_err(|e| TorchError::io(&p, e))?;
        }
        let added: serde_json::Map<String, Value> = [START_MARKER, END_MARKER]
            .iter()
            .filter_map(|t| {
                self.tokenizer
                    .token_to_id(t)
                    .map(|i| (t.to_string(), json!(i)))
            })
            .collect();
        write_json(&dir.join("added_tokens.json"), &Value::Object(added))?;
        // jner.json last, with the digests of the weights and the tokenizer written above
        let digests =
            jner_run::digest::digest_files(dir, &["model.safetensors", "tokenizer.json"])?;
        write_json(
            &dir.join(JNER_JSON),
            &json!({"backend": "spanmarker", "labels": self.entity_labels, "meta": meta, (jner_run::digest::DIGESTS_KEY): digests}),
        )?;
        Ok(())
    }

    pub fn layout(&self) -> Layout {
        self.layout
    }
    pub fn id2label(&self) -> &[String] {
        &self.id2label
    }
    pub fn outside_id(&self) -> usize {
        self.outside_id
    }
    pub fn device(&self) -> Device {
        self.net.lock().expect("model lock").vs.device()
    }

    /// Words and subwords of a text.
    pub fn tokenize(&self, text: &str) -> Result<TokDoc> {
        tokenize(
            &self.tokenizer,
            text,
            self.layout.max_subwords_per_word(self.special.n_special()),
        )
    }

    /// Samples of tokenized texts; `gold[i]` (training) maps word spans to class ids.
    pub fn samples(
        &self,
        docs: &[TokDoc],
        gold: Option<&[HashMap<(usize, usize), i64>]>,
    ) -> Vec<Sample> {
        let mut out = Vec::new();
        for (i, td) in docs.iter().enumerate() {
            out.extend(build_samples(
                i,
                td,
                gold.map(|g| &g[i]),
                self.outside_id as i64,
                &self.layout,
                &self.special,
            ));
        }
        out
    }

    /// Runs `f` with the network (locked for the call).
    pub fn with_net<R>(&self, f: impl FnOnce(&SpanMarkerNet) -> R) -> R {
        f(&self.net.lock().expect("model lock"))
    }

    /// A training/prediction batch (each window's text once).
    pub fn collate(&self, samples: &[&Sample]) -> SharedBatch {
        collate_shared(samples, &self.special)
    }

    /// The same samples laid out as SpanMarker does (see [`SpanMarkerNet::logits_masked`]).
    pub fn collate_masked(&self, samples: &[&Sample]) -> Batch {
        collate(samples, &self.special)
    }

    /// Entities of each text (character offsets), decoded greedily.
    pub fn predict_texts(
        &self,
        texts: &[&str],
        batch_size: usize,
        threshold: f32,
    ) -> Result<Vec<Vec<Entity>>> {
        let docs = texts
            .iter()
            .map(|t| self.tokenize(t))
            .collect::<Result<Vec<_>>>()?;
        let scored = self.score_docs(&docs, batch_size)?;
        Ok(texts
            .iter()
            .zip(&docs)
            .zip(scored)
            .map(|((text, td), cands)| {
                let ix = CharIndex::new(text);
                greedy_decode(cands, self.outside_id, threshold)
                    .into_iter()
                    .map(|c| {
                        let b0 = td.words[c.start].0;
                        let b1 = td.words[c.end - 1].1;
                        Entity {
                            start: ix.to_char(b0).expect("word on a char boundary"),
                            end: ix.to_char(b1).expect("word on a char boundary"),
                            label: self.id2label[c.label].clone(),
                            score: c.score,
                        }
                    })
                    .collect()
            })
            .collect())
    }

    /// Best class and its probability for every candidate span of every document.
    pub fn score_docs(&self, docs: &[TokDoc], batch_size: usize) -> Result<Vec<Vec<Scored>>> {
        let samples = self.samples(docs, None);
        let mut out = vec![Vec::new(); docs.len()];
        let net = self.net.lock().expect("model lock");
        tch::no_grad(|| -> Result<()> {
            for chunk in samples.chunks(batch_size.max(1)) {
                let refs: Vec<&Sample> = chunk.iter().collect();
                let batch = collate_shared(&refs, &self.special);
                let probs = net.logits(&batch, false).softmax(-1, Kind::Float);
                let (scores, labels) = probs.max_dim(-1, false);
                let scores = Vec::<f32>::try_from(scores.to_device(Device::Cpu))?;
                let labels = Vec::<i64>::try_from(labels.to_device(Device::Cpu))?;
                let mut k = 0;
                for s in chunk {
                    for &(start, end) in &s.spans {
                        out[s.doc].push(Scored {
                            start,
                            end,
                            label: labels[k] as usize,
                            score: scores[k],
                        });
                        k += 1;
                    }
                }
            }
            Ok(())
        })?;
        Ok(out)
    }
}

/// Copies every variable of `vs` from `weights` by exact name (the pooler may be absent).
pub fn load_exact(vs: &nn::VarStore, weights: &HashMap<String, Tensor>) -> Result<()> {
    let mut missing = Vec::new();
    for (name, var) in vs.variables() {
        match weights.get(&name) {
            Some(src) if src.size() == var.size() => tch::no_grad(|| {
                let mut var = var;
                var.copy_(&src.to_device(var.device()));
            }),
            Some(src) => {
                return Err(TorchError::invalid(format!(
                    "`{name}` has shape {:?} in the checkpoint but the model expects {:?}",
                    src.size(),
                    var.size()
                )))
            }
            None if name.contains(".pooler.") => {}
            None => missing.push(name),
        }
    }
    if !missing.is_empty() {
        missing.sort();
        return Err(TorchError::invalid(format!(
            "the checkpoint lacks {} weight(s): {}",
            missing.len(),
            missing.join(", ")
        )));
    }
    Ok(())
}

impl Recognizer for SpanMarkerModel {
    fn labels(&self) -> &[String] {
        &self.entity_labels
    }
    /// Encoder passes: one per sample (a window of the text, split further when its spans
    /// take more markers than one pass holds).
    fn windows(&self, text: &str, _opts: &PredictOptions) -> usize {
        match self.tokenize(text) {
            Ok(td) => self.samples(std::slice::from_ref(&td), None).len().max(1),
            Err(_) => 1,
        }
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
        let mut preds =
            self.predict_texts(texts, opts.batch_size, opts.threshold.unwrap_or(0.0))?;
        jner_corpus::restrict_labels(opts, &self.entity_labels, &mut preds)?;
        Ok(preds)
    }
}

/// Where the weights of a model folder are (for messages).
pub fn model_weights_path(dir: &Path) -> PathBuf {
    dir.join("model.safetensors")
}
