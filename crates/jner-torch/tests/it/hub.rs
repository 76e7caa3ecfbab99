//! Hub ids: a tiny model served by a local stand-in for the hub (the endpoint protocol
//! `hf-hub` speaks: `/{repo}/resolve/{revision}/{file}`, range requests, `etag` and
//! `x-repo-commit` headers) is downloaded into an `HF_HOME`-style cache, loads, and is then
//! found again offline without the server.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use jner_torch::hub::{resolve_model_dir_with, HubSettings};
use jner_torch::spanmarker::Layout;
use jner_torch::SpanMarkerModel;

const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";

/// Serves `files` for repository `org/tiny` at any revision; counts requests.
fn serve(files: HashMap<String, Vec<u8>>) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            counter.fetch_add(1, Ordering::SeqCst);
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut request = String::new();
            reader.read_line(&mut request).unwrap();
            let mut range_start = 0usize;
            let mut only_first = false;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap() == 0 || line.trim().is_empty() {
                    break;
                }
                let lower = line.to_ascii_lowercase();
                if let Some(r) = lower.strip_prefix("range: bytes=") {
                    let (a, b) = r.trim().split_once('-').unwrap();
                    range_start = a.parse().unwrap();
                    only_first = b == "0";
                }
            }
            let path = request.split_whitespace().nth(1).unwrap_or("").to_string();
            let file = path
                .strip_prefix("/org/tiny/resolve/")
                .and_then(|rest| rest.split_once('/'))
                .map(|(_, f)| f.to_string());
            let response = match file.and_then(|f| files.get(&f).map(|b| (f, b))) {
                Some((name, body)) => {
                    let end = if only_first { 1 } else { body.len() };
                    let part = &body[range_start.min(body.len())..end.min(body.len())];
                    let mut head = format!(
                        "HTTP/1.1 206 Partial Content\r\netag: \"{name}-{}\"\r\nx-repo-commit: {COMMIT}\r\ncontent-range: bytes {range_start}-{}/{}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len(),
                        (range_start + part.len()).saturating_sub(1),
                        body.len(),
                        part.len()
                    )
                    .into_bytes();
                    head.extend_from_slice(part);
                    head
                }
                None => b"HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
                    .to_vec(),
            };
            let _ = stream.write_all(&response);
            let _ = stream.flush();
            let mut rest = Vec::new();
            let _ = reader.get_mut().set_nonblocking(true);
            let _ = reader.read_to_end(&mut rest);
        }
    });
    (format!("http://{addr}"), hits)
}

fn read_dir_files(dir: &Path) -> HashMap<String, Vec<u8>> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn downloads_a_hub_id_then_finds_it_offline() {
    crate::common::one_thread();
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("src");
    crate::common::write_tiny_bert(&src, 16, 1, "", 7);
    let files = read_dir_files(&src);
    assert!(files.contains_key("model.safetensors") && files.contains_key("tokenizer.json"));
    let (endpoint, hits) = serve(files.clone());
    let cache = tmp.path().join("hf_home/hub");
    let online = HubSettings {
        cache_dir: Some(cache.clone()),
        endpoint: Some(endpoint),
        offline: false,
        token: None,
        progress: false,
    };
    let dir = resolve_model_dir_with("org/tiny", &online).unwrap();
    assert_eq!(dir, cache.join("models--org--tiny/snapshots").join(COMMIT));
    // every served file arrived intact (pytorch_model.bin was never needed)
    for (name, body) in &files {
        assert_eq!(&std::fs::read(dir.join(name)).unwrap(), body, "{name}");
    }
    let refs = std::fs::read_to_string(cache.join("models--org--tiny/refs/main")).unwrap();
    assert_eq!(refs.trim(), COMMIT);
    // the downloaded folder is a usable encoder
    let labels = vec!["MinorChild".to_string()];
    let layout = Layout {
        model_max_length: 32,
        marker_max_length: 8,
        entity_max_length: 4,
    };
    SpanMarkerModel::from_encoder(&dir, &labels, layout, tch::Device::Cpu).unwrap();

    // a second resolution, online or offline, reads the cache and sends nothing
    let before = hits.load(Ordering::SeqCst);
    assert_eq!(resolve_model_dir_with("org/tiny", &online).unwrap(), dir);
    let offline = HubSettings {
        offline: true,
        endpoint: Some("http://127.0.0.1:9".into()),
        ..online.clone()
    };
    assert_eq!(resolve_model_dir_with("org/tiny", &offline).unwrap(), dir);
    assert_eq!(hits.load(Ordering::SeqCst), before);

    // a repository the server does not have: a clear error naming the id
    let err = resolve_model_dir_with("org/other", &online)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("org/other") && err.contains("local folder"),
        "{err}"
    );
}
