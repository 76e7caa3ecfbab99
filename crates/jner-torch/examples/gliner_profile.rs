//! Where a GLiNER training step and a prediction batch spend their time (a fresh model on an
//! encoder folder, synthetic 150-word windows): encoder, LSTM, span head, backward, optimizer.
//!
//!     cargo run --release --example gliner_profile -p jner-torch -- models/all-MiniLM-L6-v2

use std::time::Instant;

use jner_torch::gliner::data::{build_item, collate, Prompt};
use jner_torch::gliner::GlinerModel;
use tch::{Device, Kind, Tensor};

fn main() {
    let enc = std::env::args().nth(1).expect("encoder folder");
    tch::set_num_threads(2);
    let labels: Vec<String> = [
        "MinorChild",
        "GenderIndication",
        "MedicalCondition",
        "ClinicalEvent",
        "ClinicalProcedure",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let model = GlinerModel::from_encoder(enc.as_ref(), &enc, &labels, Device::Cpu).unwrap();
    let text =
        "My 7 week old son had a fever after the surgery , and the doctor said it was fine . "
            .repeat(8);
    let t = model.tokenize(&text).unwrap();
    let prompt = Prompt::new(model.tokenizer(), &labels, model.specials()).unwrap();
    let item = build_item(&t, (0, 150), &prompt, model.specials());
    let items = vec![&item; 8];
    let batch = collate(&items, model.specials().pad);
    println!(
        "batch: {} rows, {} tokens, {} words",
        batch.b, batch.t, batch.w
    );
    model.with_net(|net| {
        for train in [false, true] {
            for rep in 0..3 {
                let t0 = Instant::now();
                let l = net.logits(&batch, train);
                let fwd = t0.elapsed().as_secs_f64();
                let bwd = if train {
                    let t1 = Instant::now();
                    l.sum(Kind::Float).backward();
                    t1.elapsed().as_secs_f64()
                } else {
                    0.0
                };
                if rep > 0 {
                    println!("train={train}: forward {fwd:.3}s backward {bwd:.3}s");
                }
            }
        }
        // the encoder alone
        let ids = Tensor::from_slice(&batch.input_ids).view([batch.b as i64, batch.t as i64]);
        let mask = Tensor::from_slice(&batch.attention_mask).view([batch.b as i64, batch.t as i64]);
        for train in [false, true] {
            let t0 = Instant::now();
            let h = net.encoder.forward(&ids, &mask, train);
            let fwd = t0.elapsed().as_secs_f64();
            let t1 = Instant::now();
            if train {
                h.sum(Kind::Float).backward();
            }
            println!(
                "encoder train={train}: forward {fwd:.3}s backward {:.3}s",
                t1.elapsed().as_secs_f64()
            );
        }
        let x = Tensor::randn([8, 150, 512], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        {
            let vs = tch::nn::VarStore::new(Device::Cpu);
            let lstm = jner_torch::gliner::net::BiLstm::new(&vs.root(), 512, 256);
            let ffn = jner_torch::gliner::net::Ffn::new(&vs.root(), 512, 512, 0.4);
            let mask = Tensor::ones([8, 150], (Kind::Float, Device::Cpu));
            let rev = Tensor::arange(150, (Kind::Int64, Device::Cpu))
                .flip([0])
                .unsqueeze(0)
                .expand([8, 150], false)
                .contiguous();
            for _ in 0..2 {
                let t0 = Instant::now();
                let y = lstm.forward(&x, &mask, &rev);
                let f = t0.elapsed().as_secs_f64();
                let t1 = Instant::now();
                y.sum(Kind::Float).backward();
                println!(
                    "lstm forward {f:.3}s backward {:.3}s",
                    t1.elapsed().as_secs_f64()
                );
                let t0 = Instant::now();
                let y = ffn.forward(&x, true);
                let f = t0.elapsed().as_secs_f64();
                let t1 = Instant::now();
                y.sum(Kind::Float).backward();
                println!(
                    "one word FFN forward {f:.3}s backward {:.3}s",
                    t1.elapsed().as_secs_f64()
                );
            }
        }
        let t0 = Instant::now();
        let parts = net.forward_parts(&batch, true);
        println!(
            "library layout forward (train) {:.3}s",
            t0.elapsed().as_secs_f64()
        );
        let t1 = Instant::now();
        parts.logits.sum(Kind::Float).backward();
        println!("library layout backward {:.3}s", t1.elapsed().as_secs_f64());
        let _ = x;
    });
}
