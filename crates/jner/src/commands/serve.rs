//! `jner serve`: the flags, the models and the signals around [`jner_serve::run`].
//!
//! Every flag, model folder name and key file is checked before the port is bound; the
//! models then load while the server already answers (`/ready` 503 until they are in).

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use jner_redact::Keys;
use jner_serve::{BatchConfig, ModelSpec, ServeConfig};

use crate::cli::ServeArgs;
use crate::model::load_named;

/// `[NAME=]DIR` → (name, dir). The default name is the folder's, or its parent's for a
/// run's `best`, `final` or `checkpoint-*` (`spacy_model/best` is `spacy_model`).
fn model_arg(arg: &str) -> Result<(String, PathBuf)> {
    if let Some((name, dir)) = arg.split_once('=') {
        let name = name.trim();
        if name.is_empty() || dir.is_empty() {
            bail!("--model {arg:?}: expected DIR or NAME=DIR");
        }
        // a folder whose name has `=` stays reachable as ./a=b
        if !name.contains('/') {
            return Ok((name.to_string(), PathBuf::from(dir)));
        }
    }
    let dir = PathBuf::from(arg);
    let base = |p: &std::path::Path| {
        p.file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .filter(|n| !n.is_empty() && n != "." && n != "..")
    };
    let own = dir
        .canonicalize()
        .ok()
        .and_then(|c| {
            let b = base(&c)?;
            if b == "best" || b == "final" || b.starts_with("checkpoint-") {
                c.parent().and_then(base)
            } else {
                Some(b)
            }
        })
        .or_else(|| base(&dir))
        .unwrap_or_else(|| "model".to_string());
    Ok((own, dir))
}

fn seconds(flag: &str, s: f64) -> Result<Duration> {
    if !(s.is_finite() && s > 0.0 && s <= 86_400.0) {
        bail!("{flag} must be a number of seconds in (0, 86400], got {s}");
    }
    Ok(Duration::from_secs_f64(s))
}

fn api_key(args: &ServeArgs) -> Result<Option<String>> {
    let raw = match &args.api_key_file {
        Some(p) => Some(
            std::fs::read_to_string(p)
                .with_context(|| format!("reading --api-key-file {}", p.display()))?,
        ),
        None => std::env::var("JNER_API_KEY").ok(),
    };
    let Some(raw) = raw else { return Ok(None) };
    let key = raw.trim().to_string();
    let from = args
        .api_key_file
        .as_ref()
        .map_or("JNER_API_KEY".to_string(), |p| p.display().to_string());
    if key.len() < 16 {
        bail!(
            "{from}: the API key has {} characters; use at least 16",
            key.len()
        );
    }
    if !key.bytes().all(|b| b.is_ascii_graphic()) {
        bail!("{from}: the API key must be printable ASCII without spaces (it goes in an Authorization header)");
    }
    Ok(Some(key))
}

pub fn serve(args: &ServeArgs) -> Result<()> {
    let mut models = Vec::new();
    for m in &args.models {
        let (name, dir) = model_arg(m)?;
        if !dir.is_dir() {
            bail!("--model {m:?}: {} is not a folder", dir.display());
        }
        if models.iter().any(|(n, _): &(String, PathBuf)| *n == name) {
            bail!("--model {m:?}: a second model named {name:?}; name them with NAME=DIR");
        }
        models.push((name, dir));
    }
    if args.threads == Some(0) || args.workers == 0 || args.io_threads == 0 {
        bail!("--threads, --workers and --io-threads must be at least 1");
    }
    for (flag, v) in [
        ("--max-batch-words", args.max_batch_words),
        ("--max-batch-requests", args.max_batch_requests),
        ("--batch-size", args.batch_size),
        ("--max-body-bytes", args.max_body_bytes),
        ("--max-texts", args.max_texts),
        ("--max-text-chars", args.max_text_chars),
        ("--max-in-flight-texts", args.max_in_flight_texts),
    ] {
        if v == 0 {
            bail!("{flag} must be at least 1");
        }
    }
    if args.max_in_flight_texts > u32::MAX as usize {
        bail!("--max-in-flight-texts: at most {}", u32::MAX);
    }
    let keys = match &args.key_file {
        Some(f) => Some(Keys::from_file(f)?),
        None => None,
    };
    let config = ServeConfig {
        max_body_bytes: args.max_body_bytes,
        max_texts: args.max_texts,
        max_text_chars: args.max_text_chars,
        max_in_flight_texts: args.max_in_flight_texts,
        request_timeout: seconds("--request-timeout", args.request_timeout)?,
        shutdown_timeout: seconds("--shutdown-timeout", args.shutdown_timeout)?,
        batch_size: args.batch_size,
        batch: BatchConfig {
            max_batch_words: args.max_batch_words,
            max_batch_requests: if args.no_batching {
                1
            } else {
                args.max_batch_requests
            },
            workers: args.workers,
        },
        api_key: api_key(args)?,
        keys,
    };
    let threads = args.threads;
    let verify = !args.no_verify;
    let load = move || {
        let mut specs = Vec::new();
        for (name, dir) in models {
            let (backend, mut rec) =
                load_named(&dir, verify).map_err(|e| format!("{}: {e:#}", dir.display()))?;
            if let Some(n) = threads {
                rec.set_threads(n);
            }
            tracing::info!(
                "model {name:?}: {backend} from {} ({} labels)",
                dir.display(),
                rec.labels().len()
            );
            specs.push(ModelSpec {
                name,
                backend: backend.to_string(),
                recognizer: rec,
            });
        }
        Ok(specs)
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(args.io_threads)
        .thread_name("jner-io")
        .enable_all()
        .build()
        .context("starting the HTTP runtime")?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.addr)
            .await
            .with_context(|| format!("--addr {}: cannot listen", args.addr))?;
        let local = listener.local_addr()?;
        // on stderr, for scripts and tests that start on port 0
        eprintln!("listening on http://{local}");
        jner_serve::run(listener, config, load, shutdown_signal())
            .await
            .map_err(anyhow::Error::from)
    })?;
    tracing::info!("stopped");
    Ok(())
}

/// Resolves on ctrl-c or SIGTERM.
async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        _ = ctrl_c => {},
        _ = term => {},
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_names() {
        let t = tempfile::tempdir().unwrap();
        let best = t.path().join("spacy_model").join("best");
        std::fs::create_dir_all(&best).unwrap();
        let (n, d) = model_arg(best.to_str().unwrap()).unwrap();
        assert_eq!((n.as_str(), d), ("spacy_model", best.clone()));
        let (n, _) = model_arg(&format!("kids={}", best.display())).unwrap();
        assert_eq!(n, "kids");
        assert!(model_arg("=x").is_err());
        assert!(model_arg("x=").is_err());
    }
}
