//! Train on JSONL files (character offsets) and report F1 and speed.
//!
//! ```text
//! cargo run --release -p jner-cnn --example train_jsonl -- TRAIN.jsonl EVAL.jsonl OUT_DIR \
//!     [--epochs N] [--threads N] [--batch-size N] [--dropout X] [--lr X] [--seed N] \
//!     [--width N] [--depth N] [--window N] [--max-piece-tokens N] [--weight-decay X]
//!     [--rows A,B,C,D] [--label-smoothing X] [--pieces N] [--n-hashes N] [--grad-clip X]
//!     [--config JSON] [--vectors FILE] [--no-averages] [--no-checkpoints]
//! ```

use jner_cnn::{CnnConfig, CnnModel};
use std::path::PathBuf;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!(
            "usage: train_jsonl TRAIN.jsonl EVAL.jsonl OUT_DIR [--epochs N] [--threads N] ..."
        );
        std::process::exit(2);
    }
    let mut cfg = CnnConfig::default();
    let mut i = 3;
    while i < args.len() {
        let v = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--epochs" => cfg.epochs = v.parse()?,
            "--threads" => cfg.threads = v.parse()?,
            "--batch-size" => cfg.batch_size = v.parse()?,
            "--dropout" => cfg.dropout = v.parse()?,
            "--lr" => cfg.learn_rate = v.parse()?,
            "--seed" => cfg.seed = v.parse()?,
            "--width" => cfg.width = v.parse()?,
            "--depth" => cfg.depth = v.parse()?,
            "--window" => cfg.window = v.parse()?,
            "--max-piece-tokens" => cfg.max_piece_tokens = v.parse()?,
            "--weight-decay" => cfg.weight_decay = v.parse()?,
            "--label-smoothing" => cfg.label_smoothing = v.parse()?,
            "--pieces" => cfg.maxout_pieces = v.parse()?,
            "--n-hashes" => cfg.n_hashes = v.parse()?,
            "--grad-clip" => cfg.grad_clip = v.parse()?,
            // any CnnConfig field as JSON, e.g. --config '{"width": 128}'
            "--config" => {
                let mut js = serde_json::to_value(&cfg)?;
                let over: serde_json::Value = serde_json::from_str(&v)?;
                if let (Some(a), Some(b)) = (js.as_object_mut(), over.as_object()) {
                    for (k, x) in b {
                        a.insert(k.clone(), x.clone());
                    }
                }
                cfg = serde_json::from_value(js)?;
            }
            "--rows" => {
                let r: Vec<usize> = v.split(',').map(|x| x.parse()).collect::<Result<_, _>>()?;
                cfg.rows = [r[0], r[1], r[2], r[3]];
            }
            "--vectors" => cfg.vectors = Some(PathBuf::from(&v)),
            "--no-averages" => {
                cfg.use_averages = false;
                i += 1;
                continue;
            }
            "--no-checkpoints" => {
                cfg.save_checkpoints = false;
                i += 1;
                continue;
            }
            a => return Err(format!("unknown argument {a}").into()),
        }
        i += 2;
    }
    let train = jner_corpus::jsonl::read_jsonl(std::path::Path::new(&args[0]))?;
    let eval = jner_corpus::jsonl::read_jsonl(std::path::Path::new(&args[1]))?;
    let out = PathBuf::from(&args[2]);
    let report = jner_cnn::train(
        &train,
        &eval,
        &cfg,
        jner_run::PendingRun::new_run(&out)?,
        serde_json::json!({"example": "train_jsonl"}),
    )?;
    for e in &report.epochs {
        println!(
            "epoch {:2} loss {:.4} train {:.1}s {:.0} words/s  eval {:.2}s  P {:.4} R {:.4} F1 {:.4}",
            e.epoch, e.loss, e.train_seconds, e.train_words_per_s, e.eval_seconds, e.precision, e.recall, e.f1
        );
    }
    println!("summary {}", report.summary());
    // inference speed of the best model on the eval texts (whole documents)
    let model = CnnModel::load(&out.join("best"))?;
    let texts: Vec<&str> = eval.iter().map(|d| d.text.as_str()).collect();
    let words: usize = {
        let tk = jner_cnn::tokenizer::Tokenizer::new();
        texts
            .iter()
            .map(|t| tk.tokenize(t).iter().filter(|x| !x.is_space).count())
            .sum()
    };
    let reps = 5;
    let t0 = Instant::now();
    for _ in 0..reps {
        std::hint::black_box(model.predict_texts(&texts, 0.0));
    }
    let s = t0.elapsed().as_secs_f64();
    println!(
        "inference: {} docs, {} words x{reps} in {:.2}s = {:.0} words/s ({} threads)",
        texts.len(),
        words,
        s,
        (words * reps) as f64 / s,
        model.config.threads
    );
    let (rep, _) = jner_cnn::evaluate(&model, &eval)?;
    println!("{}", rep.to_table());
    Ok(())
}
