//! `jner redact` and `jner restore`: the operators of `jner serve` on files and stdin.
//!
//! Everything is checked before the model loads and before anything is written: operators,
//! lists, thresholds, and the key when an operator needs one. Output goes to a temporary
//! file renamed over `--output` once every document is done.

use std::collections::BTreeMap;

use anyhow::{bail, Context, Result};
use jner_redact::{DenyPattern, Item, Keys, Lists, Pattern, Policy};
use serde_json::json;

use super::predict::{check_score, Detector};
use super::stream::{self, Reader};
use crate::cli::{InputFormat, OutputFormat, RedactArgs, RestoreArgs};

fn label_value<'a>(flag: &str, arg: &'a str) -> Result<(&'a str, &'a str)> {
    match arg.split_once('=') {
        Some((l, v)) if !l.trim().is_empty() => Ok((l.trim(), v)),
        _ => bail!("{flag} {arg:?}: expected LABEL=VALUE"),
    }
}

/// The lists of `--allow`, `--allow-regex`, `--deny`, `--deny-regex`.
fn lists(args: &RedactArgs) -> Result<Lists> {
    let mut allow: Vec<Pattern> = args
        .allow
        .iter()
        .map(|t| Pattern {
            exact: Some(t.clone()),
            regex: None,
        })
        .collect();
    allow.extend(args.allow_regex.iter().map(|r| Pattern {
        exact: None,
        regex: Some(r.clone()),
    }));
    let mut deny = Vec::new();
    for d in &args.deny {
        let (label, text) = label_value("--deny", d)?;
        deny.push(DenyPattern {
            label: label.to_string(),
            exact: Some(text.to_string()),
            regex: None,
        });
    }
    for d in &args.deny_regex {
        let (label, re) = label_value("--deny-regex", d)?;
        deny.push(DenyPattern {
            label: label.to_string(),
            exact: None,
            regex: Some(re.to_string()),
        });
    }
    // the lists' error names entries by position: say which flag that is
    let n_allow = args.allow.len();
    let n_deny = args.deny.len();
    Lists::compile(&allow, &deny).map_err(|e| {
        let msg = e.to_string();
        let flag = |field: &str, i: usize| -> String {
            match field {
                "allow" if i < n_allow => format!("--allow {:?}", args.allow[i]),
                "allow" => format!("--allow-regex {:?}", args.allow_regex[i - n_allow]),
                _ if i < n_deny => format!("--deny {:?}", args.deny[i]),
                _ => format!("--deny-regex {:?}", args.deny_regex[i - n_deny]),
            }
        };
        // "allow[3].regex: reason" -> "--allow-regex \"..\": reason"
        let parsed = msg.split_once(": ").and_then(|(head, reason)| {
            let (field, rest) = head.split_once('[')?;
            let (i, _) = rest.split_once(']')?;
            Some((flag(field, i.parse().ok()?), reason.to_string()))
        });
        match parsed {
            Some((f, reason)) => anyhow::anyhow!("{f}: {reason}"),
            None => anyhow::anyhow!("{msg}"),
        }
    })
}

pub fn redact(args: &RedactArgs) -> Result<()> {
    let p = &args.predict;
    stream::check_paths(p.input.as_deref(), p.output.as_deref())?;
    let mut policy = Policy {
        merge_adjacent: args.merge_adjacent,
        ..Policy::default()
    };
    for o in &args.operators {
        policy
            .set(o)
            .map_err(|e| anyhow::anyhow!("--operator: {e}"))?;
    }
    let keys = match &args.key_file {
        Some(f) => Some(Keys::from_file(f)?),
        None => None,
    };
    if let (Some(op), None) = (policy.needs_key(), &keys) {
        bail!("--operator {op} needs a key: pass --key-file FILE (at least 32 bytes, e.g. `head -c 32 /dev/urandom > key`)");
    }
    let mut thresholds = BTreeMap::new();
    for t in &args.label_thresholds {
        let (label, v) = label_value("--label-threshold", t)?;
        let score: f32 = v
            .trim()
            .parse()
            .map_err(|_| anyhow::anyhow!("--label-threshold {t:?}: {v:?} is not a number"))?;
        check_score(&format!("--label-threshold {label}"), score)?;
        thresholds.insert(label.to_string(), score);
    }
    let det = Detector::new(p, thresholds, lists(args)?)?;
    let mut reader = Reader::open(p.input.as_deref(), p.format)?;
    let docs = stream::write_to(p.output.as_deref(), |out| {
        det.run(&mut reader, |doc, ents| {
            let r = jner_redact::redact(&doc.text, &ents, &policy, keys.as_ref())?;
            let jsonl = match args.output_format {
                Some(f) => f == OutputFormat::Jsonl,
                None => doc.fields.is_some(),
            };
            if jsonl {
                serde_json::to_writer(
                    &mut *out,
                    &json!({"id": doc.id, "text": r.text, "items": r.items}),
                )?;
            } else {
                out.write_all(r.text.as_bytes())?;
            }
            out.write_all(b"\n")?;
            Ok(())
        })
    })?;
    tracing::info!("redacted {docs} documents");
    Ok(())
}

pub fn restore(args: &RestoreArgs) -> Result<()> {
    stream::check_paths(args.input.as_deref(), args.output.as_deref())?;
    let keys = Keys::from_file(&args.key_file)?;
    let mut reader = Reader::open(args.input.as_deref(), InputFormat::Jsonl)?;
    let docs = stream::write_to(args.output.as_deref(), |out| {
        let mut batch = Vec::new();
        let mut docs = 0;
        while reader.next_chunk(&mut batch)? {
            for doc in &batch {
                let at = || format!("{}:{}", reader.name, doc.line);
                let items: Vec<Item> = match doc.fields.as_ref().and_then(|f| f.get("items")) {
                    Some(v) => serde_json::from_value(v.clone())
                        .with_context(|| format!("{}: \"items\"", at()))?,
                    None => bail!(
                        "{}: no \"items\" (restore reads `jner redact --output-format jsonl` output)",
                        at()
                    ),
                };
                let text = jner_redact::restore(&doc.text, &items, &keys).with_context(at)?;
                serde_json::to_writer(&mut *out, &json!({"id": doc.id, "text": text}))?;
                out.write_all(b"\n")?;
            }
            docs += batch.len();
        }
        Ok::<_, anyhow::Error>(docs)
    })?;
    tracing::info!("restored {docs} documents");
    Ok(())
}
