//! The `jner` Python package's native module (`jner._jner`): load a model folder, predict
//! (the GIL released while the model runs), score with the shared scorer. The Python side
//! (`python/jner/`) re-exports it with type stubs.

use std::path::PathBuf;

use jner_corpus::offsets::CharIndex;
use jner_corpus::{PredictOptions, Recognizer};
use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyString};

/// An error of jner as a Python `ValueError` with jner's own message (and its causes).
fn py_err(e: anyhow::Error) -> PyErr {
    PyValueError::new_err(jner::error_text(&e))
}

/// One entity: character offsets into the text (as Python indexes `str`), its label, its
/// confidence and its text.
#[pyclass(module = "jner", frozen, get_all, eq)]
#[derive(Clone, PartialEq)]
struct Entity {
    start: usize,
    end: usize,
    label: String,
    score: f32,
    text: String,
}

#[pymethods]
impl Entity {
    fn __repr__(&self) -> String {
        format!(
            "Entity(start={}, end={}, label={:?}, score={:.4}, text={:?})",
            self.start, self.end, self.label, self.score, self.text
        )
    }

    /// The entity as a dict (the keys of `jner predict`'s JSONL).
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, pyo3::types::PyDict>> {
        let d = pyo3::types::PyDict::new(py);
        d.set_item("start", self.start)?;
        d.set_item("end", self.end)?;
        d.set_item("label", &self.label)?;
        d.set_item("score", self.score)?;
        d.set_item("text", &self.text)?;
        Ok(d)
    }
}

/// A loaded model folder (any backend).
#[pyclass(module = "jner", frozen)]
struct Model {
    rec: Box<dyn Recognizer>,
    backend: &'static str,
    path: PathBuf,
}

#[pymethods]
impl Model {
    /// The labels it predicts (a zero-shot model: those it was trained on).
    #[getter]
    fn labels(&self) -> Vec<String> {
        self.rec.labels().to_vec()
    }

    /// `cnn`, `spanmarker` or `gliner`.
    #[getter]
    fn backend(&self) -> &str {
        self.backend
    }

    /// Whether `predict(labels=...)` takes names it was not trained on.
    #[getter]
    fn zero_shot(&self) -> bool {
        self.rec.zero_shot()
    }

    fn __repr__(&self) -> String {
        format!(
            "Model(backend={:?}, path={:?}, labels={:?})",
            self.backend,
            self.path.display().to_string(),
            self.rec.labels()
        )
    }

    /// The entities of each text (a `str` is one text), as `jner predict` finds them;
    /// `nested` and `multi_label` as its flags (gliner).
    #[pyo3(signature = (texts, labels=None, threshold=None, batch_size=64, *, nested=false, multi_label=false))]
    #[allow(clippy::too_many_arguments)]
    fn predict(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyAny>,
        labels: Option<Vec<String>>,
        threshold: Option<f32>,
        batch_size: usize,
        nested: bool,
        multi_label: bool,
    ) -> PyResult<Vec<Vec<Entity>>> {
        let texts = text_list(texts)?;
        let opts = PredictOptions {
            threshold,
            batch_size,
            labels,
            nested,
            multi_label,
        };
        let found = self.find(py, &texts, opts)?;
        Ok(texts
            .iter()
            .zip(found)
            .map(|(t, ents)| entities(t, ents))
            .collect())
    }

    /// Each text with its entities anonymized by the operators of `jner redact` / `jner
    /// serve`: `operators` maps a label (or `*`) to a spec such as `replace`, `mask:*`,
    /// `hash`, `encrypt`; `key_file` holds the key `hash` and `encrypt` need. With
    /// `with_entities`, each item is `(redacted_text, entities)` from the one prediction.
    #[pyo3(signature = (texts, operators=None, key_file=None, merge_adjacent=false, labels=None, threshold=None, batch_size=64, with_entities=false))]
    #[allow(clippy::too_many_arguments)]
    fn redact(
        &self,
        py: Python<'_>,
        texts: &Bound<'_, PyAny>,
        operators: Option<std::collections::BTreeMap<String, String>>,
        key_file: Option<PathBuf>,
        merge_adjacent: bool,
        labels: Option<Vec<String>>,
        threshold: Option<f32>,
        batch_size: usize,
        with_entities: bool,
    ) -> PyResult<PyObject> {
        let texts = text_list(texts)?;
        let mut policy = jner_redact::Policy {
            merge_adjacent,
            ..jner_redact::Policy::default()
        };
        for (label, spec) in operators.unwrap_or_default() {
            policy
                .set(&format!("{label}={spec}"))
                .map_err(|e| PyValueError::new_err(format!("operators: {e}")))?;
        }
        let keys = match &key_file {
            Some(f) => Some(
                jner_redact::Keys::from_file(f)
                    .map_err(|e| PyValueError::new_err(e.to_string()))?,
            ),
            None => None,
        };
        if let (Some(op), None) = (policy.needs_key(), &keys) {
            return Err(PyValueError::new_err(format!(
                "operator {op} needs a key: pass key_file=FILE (at least 32 bytes)"
            )));
        }
        let opts = PredictOptions {
            threshold,
            batch_size,
            labels,
            ..PredictOptions::default()
        };
        let found = self.find(py, &texts, opts)?;
        let redacted: Vec<String> = py.allow_threads(|| {
            texts
                .iter()
                .zip(&found)
                .map(|(t, ents)| {
                    jner_redact::redact(t, ents, &policy, keys.as_ref())
                        .map(|r| r.text)
                        .map_err(|e| PyValueError::new_err(e.to_string()))
                })
                .collect::<PyResult<_>>()
        })?;
        if !with_entities {
            return Ok(redacted.into_pyobject(py)?.into_any().unbind());
        }
        let pairs: Vec<(String, Vec<Entity>)> = redacted
            .into_iter()
            .zip(texts.iter().zip(found))
            .map(|(r, (t, ents))| (r, entities(t, ents)))
            .collect();
        Ok(pairs.into_pyobject(py)?.into_any().unbind())
    }
}

/// Texts handed to the model at once (as `jner predict` reads its input).
const PREDICT_CHUNK: usize = 1024;

/// A text's entities as Python sees them (their text cut out by character offsets).
fn entities(t: &str, ents: Vec<jner_corpus::Entity>) -> Vec<Entity> {
    let idx = CharIndex::new(t);
    let at = |c: usize| idx.to_byte(c).unwrap_or(t.len());
    ents.into_iter()
        .map(|e| {
            let (a, b) = (at(e.start), at(e.end));
            Entity {
                text: t[a..b.max(a)].to_string(),
                start: e.start,
                end: e.end,
                label: e.label,
                score: e.score,
            }
        })
        .collect()
}

/// `texts`: one `str`, or a list of them.
fn text_list(texts: &Bound<'_, PyAny>) -> PyResult<Vec<String>> {
    if let Ok(s) = texts.downcast::<PyString>() {
        return Ok(vec![s.extract::<String>()?]);
    }
    let Ok(l) = texts.downcast::<PyList>() else {
        return Err(PyTypeError::new_err(
            "texts: expected a str or a list of str",
        ));
    };
    l.iter()
        .enumerate()
        .map(|(i, t)| {
            t.extract::<String>().map_err(|_| {
                PyTypeError::new_err(format!(
                    "texts[{i}]: expected a str, got {}",
                    t.get_type().name().map_or("?".into(), |n| n.to_string())
                ))
            })
        })
        .collect()
}

impl Model {
    /// The model's entities of each text (character offsets), with the GIL released; the
    /// arguments checked as `jner predict` checks them.
    fn find(
        &self,
        py: Python<'_>,
        texts: &[String],
        mut opts: PredictOptions,
    ) -> PyResult<Vec<Vec<jner_corpus::Entity>>> {
        let batch_size = opts.batch_size;
        if let Some(t) = opts.threshold {
            jner::commands::predict::check_score("threshold", t).map_err(py_err)?;
        }
        if batch_size == 0 {
            return Err(PyValueError::new_err("batch_size must be at least 1"));
        }
        if let Some(l) = &opts.labels {
            if l.iter().all(|x| x.trim().is_empty()) {
                return Err(PyValueError::new_err("labels names no label"));
            }
        }
        opts.labels = opts.labels.map(|l| {
            l.into_iter()
                .map(|x| x.trim().to_string())
                .filter(|x| !x.is_empty())
                .collect()
        });
        jner::commands::predict::check_labels(
            self.rec.as_ref(),
            opts.labels.as_deref(),
            &self.path.display().to_string(),
        )
        .map_err(py_err)?;
        let rec = &self.rec;
        py.allow_threads(|| {
            let mut out = Vec::with_capacity(texts.len());
            // the model batches by `batch_size` itself; chunks as large as `jner predict`'s
            // let the cnn backend spread each over its threads as the CLI does
            for chunk in texts.chunks(batch_size.max(PREDICT_CHUNK)) {
                let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
                out.extend(
                    rec.predict(&refs, &opts)
                        .map_err(|e| format!("prediction failed: {e}"))?,
                );
            }
            Ok::<_, String>(out)
        })
        .map_err(PyValueError::new_err)
    }
}

/// Loads a model folder (`jner train`'s `best/` or `final/`, or a checkpoint its Python
/// library saved) onto `device` (`cpu`; `cuda` or `cuda:N` for the libtorch backends, in a
/// package built with the torch feature). `verify` checks the weights against the sha256 in
/// `jner.json`.
#[pyfunction]
#[pyo3(signature = (path, device="cpu", verify=true))]
fn load(py: Python<'_>, path: PathBuf, device: &str, verify: bool) -> PyResult<Model> {
    let (backend, rec) = py
        .allow_threads(|| jner::model::load_named_on(&path, verify, device))
        .map_err(py_err)?;
    Ok(Model { rec, backend, path })
}

/// Scores predictions against gold with jner's one scorer: two JSONL files (gold documents
/// with `spans`, predictions with `entities`, matched by `id`), as `jner eval --gold --pred`.
/// Returns the report as a dict (`micro`, `macro_avg`, `per_label`, `errors`, `documents`).
#[pyfunction]
fn evaluate(py: Python<'_>, gold: PathBuf, pred: PathBuf) -> PyResult<PyObject> {
    let report = py
        .allow_threads(|| jner_eval::score_jsonl_files(&gold, &pred))
        .map_err(|e| PyValueError::new_err(e.to_string()))?;
    let text = serde_json::to_string(&report).map_err(|e| PyValueError::new_err(e.to_string()))?;
    let json = py.import("json")?;
    Ok(json.call_method1("loads", (text,))?.unbind())
}

/// `jner train` in this process: `args` are the command's flags (`["--backend", "cnn",
/// "--epochs", "3", ...]`, as `jner.train(**kwargs)` builds them). Returns the run's report:
/// its folder, `best`/`final` model folders, `run.json`, each epoch's line of
/// `metrics.jsonl` and (cnn) `train_report.json`, as a dict.
#[pyfunction]
fn _train(py: Python<'_>, args: Vec<String>) -> PyResult<PyObject> {
    use clap::Parser;
    let argv = ["jner", "train"].into_iter().map(String::from).chain(args);
    let cli = jner::cli::Cli::try_parse_from(argv)
        .map_err(|e| PyValueError::new_err(format!("train: {}", e.render().to_string().trim())))?;
    let jner::cli::Command::Train(targs) = cli.command else {
        unreachable!("the argument list starts with `train`")
    };
    let out = jner::commands::train::run_folder(&targs);
    py.allow_threads(|| jner::commands::train::train(targs))
        .map_err(py_err)?;
    Ok(run_report(py, &out)?.into_any().unbind())
}

/// What a finished run folder holds, as a dict. Its JSON files are parsed by Python's `json`,
/// so every number is the one the file holds, to the last digit.
fn run_report<'py>(py: Python<'py>, out: &std::path::Path) -> PyResult<Bound<'py, PyDict>> {
    let loads = py.import("json")?.getattr("loads")?;
    let parse = |text: &str, what: &str| -> PyResult<PyObject> {
        loads
            .call1((text,))
            .map(Bound::unbind)
            .map_err(|e| PyValueError::new_err(format!("{what}: invalid JSON ({e})")))
    };
    let read = |name: &str| -> PyResult<Option<PyObject>> {
        let p = out.join(name);
        if !p.is_file() {
            return Ok(None);
        }
        let text = std::fs::read_to_string(&p)
            .map_err(|e| PyValueError::new_err(format!("{}: {e}", p.display())))?;
        parse(&text, &p.display().to_string()).map(Some)
    };
    let metrics = out.join(jner_run::run::METRICS_FILE);
    let text = std::fs::read_to_string(&metrics)
        .map_err(|e| PyValueError::new_err(format!("{}: {e}", metrics.display())))?;
    let epochs = text
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
        .map(|(i, l)| parse(l, &format!("{} line {}", metrics.display(), i + 1)))
        .collect::<PyResult<Vec<_>>>()?;
    let dir = |name: &str| {
        let p = out.join(name);
        p.is_dir().then(|| p.display().to_string())
    };
    let report = PyDict::new(py);
    report.set_item("output_dir", out.display().to_string())?;
    report.set_item("best", dir("best"))?;
    report.set_item("final", dir("final"))?;
    report.set_item("run", read(jner_run::run::RUN_FILE)?)?;
    report.set_item("epochs", epochs)?;
    // the cnn backend's summary (best epoch, timings); the transformer backends' epochs say it
    if let Some(v) = read("train_report.json")? {
        report.set_item("train_report", v)?;
    }
    Ok(report)
}

#[pymodule]
fn _jner(m: &Bound<'_, PyModule>) -> PyResult<()> {
    // jner's warnings and progress lines go to stderr, as the CLI's do (RUST_LOG overrides)
    jner::init_tracing("warn,jner=info");
    m.add_class::<Entity>()?;
    m.add_class::<Model>()?;
    m.add_function(wrap_pyfunction!(load, m)?)?;
    m.add_function(wrap_pyfunction!(evaluate, m)?)?;
    m.add_function(wrap_pyfunction!(_train, m)?)?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    // the backends built into this module (the libtorch ones with the torch feature)
    let built: Vec<&str> = jner::backends::ALL
        .iter()
        .filter(|b| b.available)
        .map(|b| b.name)
        .collect();
    m.add("backends", built)?;
    Ok(())
}
