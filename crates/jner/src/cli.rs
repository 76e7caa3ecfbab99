//! Command-line interface: the spec's flags and defaults, per backend.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::data_args::DataArgs;

#[derive(Parser, Debug)]
#[command(
    name = "jner",
    version,
    about = "Train, evaluate and serve NER models for minor children, author gender and biomedical entities"
)]
pub struct Cli {
    /// More logging (-v, -vv); RUST_LOG overrides.
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    pub verbose: u8,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
#[allow(clippy::large_enum_variant)] // parsed once
pub enum Command {
    /// Load, inspect, export and split the training data.
    #[command(subcommand)]
    Data(DataCommand),
    /// Train a model (backends: cnn alias spacy, spanmarker, gliner).
    Train(TrainArgs),
    /// Score predictions against gold documents, or a model on its evaluation documents.
    Eval(EvalArgs),
    /// Train and score several backends on the same split (or folds) and write a report:
    /// report.md, report.html, report.json and plots.
    Compare(CompareArgs),
    /// Find entities in text with a trained model.
    Predict(PredictArgs),
    /// Train static word vectors on raw text (skip-gram), for `train --backend cnn --model FILE`.
    Vectors(VectorsArgs),
    /// Pretrain the cnn encoder on raw text (masked words' first/last characters), for
    /// `train --init DIR/final`.
    Pretrain(PretrainArgs),
    /// Train a student (cnn by default) on the gold documents plus texts a teacher model
    /// labelled; takes every `train` flag.
    Distill(DistillArgs),
    /// Serve models over HTTP: entities and redaction in one service, with dynamic batching,
    /// limits, metrics and OpenAPI.
    Serve(ServeArgs),
    /// Find entities and anonymize them in text lines or JSONL (the operators of `serve`).
    Redact(RedactArgs),
    /// Decrypt the `encrypt` items of `redact --output-format jsonl` output back into the
    /// original texts.
    Restore(RestoreArgs),
}

#[derive(Subcommand, Debug)]
pub enum DataCommand {
    /// Counts per source and label, and what each data rule did.
    Stats {
        #[command(flatten)]
        data: DataArgs,
        /// Print the report as JSON.
        #[arg(long)]
        json: bool,
        /// Print every warning, not only the first 10.
        #[arg(long)]
        all_warnings: bool,
    },
    /// Every document of every source once (no oversampling) as JSONL, character offsets.
    Export {
        #[command(flatten)]
        data: DataArgs,
        /// The JSONL file to write.
        #[arg(long, short)]
        output: PathBuf,
        /// Also write GLiNER's format (`{"tokenized_text","ner"}`) to this file.
        #[arg(long)]
        gliner: Option<PathBuf>,
    },
    /// Document-level split (train.jsonl, eval.jsonl, GLiNER train.json/eval.json, split.json).
    Split {
        #[command(flatten)]
        data: DataArgs,
        #[command(flatten)]
        split: SplitArgs,
        /// Folder to write into.
        #[arg(long)]
        output_dir: PathBuf,
        /// Write K folds (fold-1/ .. fold-K/) instead of one split.
        #[arg(long)]
        folds: Option<usize>,
    },
}

#[derive(Args, Debug, Clone)]
pub struct SplitArgs {
    /// Fraction of each source's documents held out for evaluation.
    #[arg(long, default_value_t = 0.1)]
    pub val_split: f64,
    /// Random seed for the split (and for training).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Extra copies of MinorChild review documents, added to the training part only.
    #[arg(long, default_value_t = 2)]
    pub minor_oversample: usize,
    /// `jner`: split documents first, then oversample the training part (no leakage).
    /// `spec`: the original pipeline's order (oversample, then split), which leaks copies of
    /// reviews into evaluation; only for reproducing its numbers.
    #[arg(long, value_enum, default_value_t = SplitMode::Jner)]
    pub split_mode: SplitMode,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SplitMode {
    Jner,
    Spec,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputFormat {
    Auto,
    Text,
    Jsonl,
}

#[derive(Args, Debug)]
pub struct PretrainArgs {
    /// Raw text: JSONL with a "text" field per line, or plain text lines; repeatable.
    #[arg(long, short, required = true)]
    pub input: Vec<PathBuf>,
    /// The run folder (metrics.jsonl, final/, checkpoint-epoch-N/).
    #[arg(long)]
    pub output_dir: PathBuf,
    /// Clear an output folder that holds an earlier run first.
    #[arg(long)]
    pub overwrite: bool,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Texts (pieces of at most 128 tokens) per update.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    #[arg(long, default_value_t = 0.001)]
    pub lr: f32,
    #[arg(long, default_value_t = 0.2)]
    pub dropout: f32,
    /// Static word vectors (as `train --model`); the student must use the same file.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Share of the words hidden and predicted.
    #[arg(long, default_value_t = 0.15)]
    pub mask_rate: f32,
    /// Bytes predicted from each end of a hidden word.
    #[arg(long, default_value_t = 3)]
    pub n_characters: usize,
    /// The encoder's architecture, as in `train --set` (width, depth, window, rows, …).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct DistillArgs {
    /// The teacher: any model folder `predict` takes.
    #[arg(long)]
    pub teacher: PathBuf,
    /// Texts for the teacher to label: JSONL with a "text" field, or plain text lines;
    /// repeatable.
    #[arg(long, required = true)]
    pub unlabeled: Vec<PathBuf>,
    /// The teacher's entities scoring below this are not used.
    #[arg(long, default_value_t = 0.0)]
    pub teacher_threshold: f32,
    /// Label every other occurrence of a surface form the teacher found in a text the same
    /// way (see `predict --consistent`).
    #[arg(long)]
    pub consistent: bool,
    #[command(flatten)]
    pub train: TrainArgs,
}

#[derive(Args, Debug)]
pub struct VectorsArgs {
    /// Text to learn from: JSONL with a "text" field per line, or plain text (one document a
    /// line); repeatable (e.g. the unlabeled reviews and `jner data export` output).
    #[arg(long, short, required = true)]
    pub input: Vec<PathBuf>,
    /// The vectors file to write (word2vec text format; settings go to FILE.json).
    #[arg(long, short)]
    pub output: PathBuf,
    /// Dimensions.
    #[arg(long, default_value_t = 100)]
    pub dim: usize,
    /// Context words on each side (the window is drawn from 1..=N per word).
    #[arg(long, default_value_t = 5)]
    pub window: usize,
    /// Noise words per context pair.
    #[arg(long, default_value_t = 5)]
    pub negative: usize,
    /// Words seen fewer times get no vector.
    #[arg(long, default_value_t = 3)]
    pub min_count: usize,
    #[arg(long, default_value_t = 10)]
    pub epochs: usize,
    /// Initial learning rate (decays linearly).
    #[arg(long, default_value_t = 0.025)]
    pub lr: f32,
    /// Sub-sampling threshold for frequent words (0: off).
    #[arg(long, default_value_t = 1e-3)]
    pub sample: f64,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
}

#[derive(Args, Debug)]
pub struct TrainArgs {
    /// Which model to train: cnn (alias spacy), spanmarker, gliner.
    #[arg(long, default_value = "cnn", value_parser = crate::backends::parse)]
    pub backend: &'static crate::backends::Backend,
    /// Base model. cnn: optional static word vectors (word2vec/fastText text file);
    /// spanmarker: encoder folder or hub id; gliner: a GLiNER checkpoint to fine-tune (default
    /// EmergentMethods/gliner_medium_news-v2.1) or a plain encoder for a fresh GLiNER.
    #[arg(long)]
    pub model: Option<String>,
    /// Epochs (spec defaults: cnn/spacy 10, spanmarker 5, gliner 10).
    #[arg(long)]
    pub epochs: Option<usize>,
    /// Documents per batch.
    #[arg(long, default_value_t = 8)]
    pub batch_size: usize,
    /// Learning rate (defaults: cnn 0.001, spanmarker 5e-5, gliner 3e-5; gliner: the
    /// encoder's).
    #[arg(long)]
    pub lr: Option<f32>,
    /// gliner: learning rate of everything outside the encoder (projection, LSTM, span and
    /// prompt layers); default 5e-5 (the v2.1 recipe).
    #[arg(long)]
    pub lr_others: Option<f32>,
    /// gliner: focal weighting of positives in the loss (the library's `focal_loss_alpha`;
    /// negative: off).
    #[arg(long, default_value_t = -1.0, allow_hyphen_values = true)]
    pub loss_alpha: f64,
    /// gliner: focal exponent of the loss (the library's `focal_loss_gamma`; 0: off).
    #[arg(long, default_value_t = 0.0)]
    pub loss_gamma: f64,
    /// Train only these labels (comma-separated; spans of other labels are ignored).
    #[arg(long, value_delimiter = ',')]
    pub labels: Option<Vec<String>>,
    /// Dropout rate (cnn; spanmarker and gliner keep their model's: the encoder config's, and
    /// 0.4 in the GLiNER head).
    #[arg(long, default_value_t = 0.2)]
    pub dropout: f32,
    /// cnn: override one hyper-parameter of the network or of training, as in the model's
    /// `jner.json` (`--set window=2 --set depth=4 --set rows=[5000,1000,2500,2500]`);
    /// repeatable. Values are JSON (a bare word is a string).
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// cnn: start the encoder from a `jner pretrain` folder (its final/ or a checkpoint) and
    /// take its architecture (width, depth, window, attention layer, hash rows).
    #[arg(long, value_name = "DIR")]
    pub init: Option<PathBuf>,
    /// Output folder (defaults: cnn `spacy_model`, spanmarker `spanmarker_finetuned`,
    /// gliner `gliner_finetuned`).
    #[arg(long)]
    pub output_dir: Option<PathBuf>,
    /// Max words per entity span (span backends).
    #[arg(long, default_value_t = 8)]
    pub entity_max_length: usize,
    /// Max subword tokens per input (transformer backends).
    #[arg(long, default_value_t = 256)]
    pub model_max_length: usize,
    /// Use a GPU where the backend supports one (same as `--device cuda`).
    #[arg(long)]
    pub use_gpu: bool,
    /// Device for the libtorch backends: cpu, cuda or cuda:N.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Worker threads (cnn; libtorch intra-op threads for spanmarker).
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// spanmarker: samples of one text window kept together when shuffling; they share one
    /// encoding of the text (faster) but make batches less varied. 1 = the library's shuffle,
    /// 0 = whole windows.
    #[arg(long, default_value_t = 1)]
    pub window_group: usize,
    /// Clear an output folder that holds an earlier run, then train anew (only folders that
    /// hold a jner run are cleared).
    #[arg(long, conflicts_with = "resume")]
    pub overwrite: bool,
    /// Continue the interrupted run in this folder from its last complete checkpoint; the
    /// arguments and data must be those it was started with.
    #[arg(long, value_name = "DIR", conflicts_with = "output_dir")]
    pub resume: Option<PathBuf>,
    /// Accept labels other than jner's five in --train-jsonl/--eval-jsonl.
    #[arg(long)]
    pub allow_new_labels: bool,
    /// Train on these documents (JSONL, as `jner data export/split` write) instead of the sources.
    #[arg(long, requires = "eval_jsonl")]
    pub train_jsonl: Option<PathBuf>,
    /// Evaluate on these documents (JSONL) instead of a split of the sources.
    #[arg(long, requires = "train_jsonl")]
    pub eval_jsonl: Option<PathBuf>,
    #[command(flatten)]
    pub split: SplitArgs,
    #[command(flatten)]
    pub data: DataArgs,
}

#[derive(Args, Debug)]
pub struct CompareArgs {
    /// The backends to compare, comma-separated (cnn alias spacy, spanmarker, gliner).
    #[arg(long, value_delimiter = ',', default_value = "cnn", value_parser = crate::backends::parse)]
    pub backends: Vec<&'static crate::backends::Backend>,
    /// K document-level folds (each document evaluated once); without it, one split of
    /// --val-split held out.
    #[arg(long)]
    pub folds: Option<usize>,
    /// A backend's base model (its `train --model`), e.g. spanmarker=models/all-MiniLM-L6-v2.
    #[arg(long = "model-for", value_name = "BACKEND=MODEL")]
    pub model_for: Vec<String>,
    /// A backend's epochs (default: the backend's own, as `train`).
    #[arg(long = "epochs-for", value_name = "BACKEND=N")]
    pub epochs_for: Vec<String>,
    /// Train a backend on N distinct documents of each fold's training part (a seeded
    /// sample, with their MinorChild oversampling copies; the held-out documents stay the
    /// same for every backend).
    #[arg(long = "train-docs", value_name = "BACKEND=N")]
    pub train_docs: Vec<String>,
    /// Any other `train` flag for one backend, e.g. --train-arg spanmarker=--batch-size=4
    /// or --train-arg cnn=--set=window=2.
    #[arg(long = "train-arg", value_name = "BACKEND=FLAG")]
    pub train_args: Vec<String>,
    /// Score every backend on N held-out documents of each fold (a seeded sample).
    #[arg(long)]
    pub eval_docs: Option<usize>,
    /// Bootstrap resamples for the intervals and the paired tests.
    #[arg(long, default_value_t = 1000)]
    pub bootstrap: usize,
    /// Examples of each error kind and label in the report.
    #[arg(long, default_value_t = 3)]
    pub examples: usize,
    /// Worker threads for training and inference.
    #[arg(long, default_value_t = 2)]
    pub threads: usize,
    /// Where the report, the folds, the runs and the predictions go.
    #[arg(long, short, default_value = "comparison")]
    pub output_dir: PathBuf,
    /// Reuse a non-empty --output-dir: its runs are retrained and its report rewritten.
    #[arg(long)]
    pub overwrite: bool,
    /// Trains nothing: renders report.md, report.html and plots/ again from DIR/report.json
    /// (e.g. after an upgrade of jner), into DIR.
    #[arg(long, value_name = "DIR", conflicts_with = "overwrite")]
    pub render: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub split: SplitArgs,
}

#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Gold documents (JSONL with spans, character offsets).
    #[arg(long, conflicts_with = "model")]
    pub gold: Option<PathBuf>,
    /// Predictions (JSONL: `{"id","entities":[...]}` or `{"id","spans":[...]}`).
    #[arg(long, requires = "gold")]
    pub pred: Option<PathBuf>,
    /// A model folder: scored on the evaluation documents of the split it was trained with,
    /// or on `--data`.
    #[arg(long)]
    pub model: Option<PathBuf>,
    /// Gold documents to score `--model` on (default: the training run's eval.jsonl).
    #[arg(long, requires = "model")]
    pub data: Option<PathBuf>,
    /// Print the report as JSON.
    #[arg(long)]
    pub json: bool,
    /// Also give 95% bootstrap intervals of micro and per-label F1 from this many resamples of
    /// the documents (e.g. 1000; 0: off).
    #[arg(long, default_value_t = 0)]
    pub bootstrap: usize,
    /// Seed of the bootstrap resamples.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Error analysis: per label exact matches, boundary errors, label confusions, spurious
    /// entities, misses; the confusion matrix; and up to N examples (default 3) of each
    /// label and error in context.
    #[arg(long, value_name = "N", num_args = 0..=1, default_missing_value = "3")]
    pub errors: Option<usize>,
    /// With --model: choose per-label thresholds that maximise each label's F1 on these
    /// documents and store them in the model's jner.json (used by predict and serve unless
    /// a threshold is given); the report then shows the calibrated scores.
    #[arg(long, requires = "model")]
    pub calibrate: bool,
}

#[derive(Args, Debug)]
pub struct PredictArgs {
    /// A model folder (e.g. spacy_model/best).
    #[arg(long)]
    pub model: PathBuf,
    /// Input: text (one document per line) or JSONL (`{"id","text"}`); stdin when absent.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    /// Output JSONL (written under a temporary name, renamed when complete); stdout when
    /// absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// Input format: `auto` reads JSONL when the file ends in .jsonl/.ndjson or its first
    /// non-empty line is a JSON object, text otherwise; `text`: one document per line;
    /// `jsonl`: one `{"id","text"}` object per line.
    #[arg(long, value_enum, default_value_t = InputFormat::Auto)]
    pub format: InputFormat,
    /// Drop entities scoring at or below this (0 to 1; default: the backend's, 0.5 for
    /// gliner, 0 for cnn and spanmarker).
    #[arg(long)]
    pub threshold: Option<f32>,
    /// Labels to look for, comma-separated. gliner takes any names (zero-shot, e.g.
    /// "medication,dosage"); cnn and spanmarker only a subset of their own.
    #[arg(long)]
    pub labels: Option<String>,
    /// gliner: allow an entity inside another (crossing entities are still resolved).
    #[arg(long)]
    pub nested: bool,
    /// gliner: allow a span to carry several labels.
    #[arg(long)]
    pub multi_label: bool,
    /// Label every other occurrence of a surface form the model found in a text the same way
    /// (how the reviews were annotated; makes redaction consistent). Adds entities, never
    /// removes or shortens one.
    #[arg(long)]
    pub consistent: bool,
    /// Load the model without checking its weight files against the sha256 in jner.json.
    #[arg(long)]
    pub no_verify: bool,
    /// Documents per batch.
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Inference threads (cnn: texts in parallel; libtorch backends: intra-op threads);
    /// default: the model's own setting.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Device for the libtorch backends: cpu, cuda or cuda:N (a cnn model runs on the CPU).
    #[arg(long, default_value = "cpu")]
    pub device: String,
}

#[derive(Args, Debug)]
pub struct RedactArgs {
    #[command(flatten)]
    pub predict: PredictArgs,
    /// Operator of one label, `LABEL=SPEC`; `*=SPEC` sets the default (`replace`). SPEC:
    /// replace, replace:TEXT, replace:numbered, mask, mask:CHAR, mask:CHAR:COUNT[:end], remove,
    /// keep, hash, encrypt, or the JSON object of the HTTP API. Repeatable.
    #[arg(long = "operator", value_name = "LABEL=SPEC")]
    pub operators: Vec<String>,
    /// Entities of one label separated only by white space become one.
    #[arg(long)]
    pub merge_adjacent: bool,
    /// Secret (at least 32 bytes) for `hash` and `encrypt`.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Found entities with this text (case-insensitive) are kept; repeatable.
    #[arg(long, value_name = "TEXT")]
    pub allow: Vec<String>,
    /// Found entities whose whole text matches this regex are kept; repeatable.
    #[arg(long, value_name = "REGEX")]
    pub allow_regex: Vec<String>,
    /// Every occurrence of TEXT (case-insensitive) becomes an entity of LABEL; repeatable.
    #[arg(long, value_name = "LABEL=TEXT")]
    pub deny: Vec<String>,
    /// Every match of REGEX becomes an entity of LABEL; repeatable.
    #[arg(long, value_name = "LABEL=REGEX")]
    pub deny_regex: Vec<String>,
    /// Per-label threshold, applied after --threshold: `LABEL=SCORE`; repeatable.
    #[arg(long = "label-threshold", value_name = "LABEL=SCORE")]
    pub label_thresholds: Vec<String>,
    /// `text`: the redacted text, one line per input document; `jsonl`: `{"id", "text",
    /// "items"}` per document (what `restore` reads). Default: the input's format.
    #[arg(long, value_enum)]
    pub output_format: Option<OutputFormat>,
}

#[derive(ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Text,
    Jsonl,
}

#[derive(Args, Debug)]
pub struct RestoreArgs {
    /// `redact --output-format jsonl` output; stdin when absent.
    #[arg(long, short)]
    pub input: Option<PathBuf>,
    /// Output JSONL `{"id", "text"}` (written under a temporary name, renamed when
    /// complete); stdout when absent.
    #[arg(long, short)]
    pub output: Option<PathBuf>,
    /// The key file the texts were redacted with.
    #[arg(long)]
    pub key_file: PathBuf,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// A model folder, or `NAME=DIR` to name it (default name: the folder's, or its parent's
    /// for `best`/`final`); repeatable; the first is the default model.
    #[arg(long = "model", required = true, value_name = "[NAME=]DIR")]
    pub models: Vec<String>,
    /// Address to listen on (port 0: any free port; the chosen address is printed).
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: String,
    /// Inference threads per worker (cnn: texts in parallel; libtorch: intra-op threads);
    /// default: the model's own setting.
    #[arg(long)]
    pub threads: Option<usize>,
    /// Inference workers per model, each taking the next batch from the queue.
    #[arg(long, default_value_t = 1)]
    pub workers: usize,
    /// Threads of the HTTP runtime (I/O only; inference runs on its own threads).
    #[arg(long, default_value_t = 2)]
    pub io_threads: usize,
    /// Whitespace words per model batch (a single larger request runs alone).
    #[arg(long, default_value_t = 16_384)]
    pub max_batch_words: usize,
    /// Requests per model batch.
    #[arg(long, default_value_t = 64)]
    pub max_batch_requests: usize,
    /// Run every request alone (same as --max-batch-requests 1).
    #[arg(long)]
    pub no_batching: bool,
    /// Texts per model call inside a batch (transformer backends).
    #[arg(long, default_value_t = 32)]
    pub batch_size: usize,
    /// Largest request body in bytes (413 above).
    #[arg(long, default_value_t = 4 << 20)]
    pub max_body_bytes: usize,
    /// Texts per request (413 above).
    #[arg(long, default_value_t = 256)]
    pub max_texts: usize,
    /// Characters per text (413 above; shorter texts are windowed, never truncated).
    #[arg(long, default_value_t = 1_000_000)]
    pub max_text_chars: usize,
    /// Texts queued or running at once, over all requests; beyond it requests get 429 with
    /// Retry-After at once.
    #[arg(long, default_value_t = 4096)]
    pub max_in_flight_texts: usize,
    /// Seconds a request may take (queue and inference) unless its `x-request-timeout`
    /// header says less or more; 504 after.
    #[arg(long, default_value_t = 30.0)]
    pub request_timeout: f64,
    /// Seconds in-flight requests get to finish after SIGTERM or ctrl-c.
    #[arg(long, default_value_t = 30.0)]
    pub shutdown_timeout: f64,
    /// File holding the Bearer token required on /v1/ routes (or set JNER_API_KEY).
    #[arg(long)]
    pub api_key_file: Option<PathBuf>,
    /// Secret (at least 32 bytes) for the `hash` and `encrypt` operators and /v1/restore.
    #[arg(long)]
    pub key_file: Option<PathBuf>,
    /// Load models without checking their weight files against the sha256 in jner.json.
    #[arg(long)]
    pub no_verify: bool,
}
