//! Dropout whose CPU mask comes from a fast, seeded, multi-threaded generator.
//!
//! libtorch's CPU dropout draws its mask with `bernoulli_`, which runs on one thread through
//! a Mersenne twister while the other threads wait. A SpanMarker training step on MiniLM
//! draws ~70 million of them (hidden states and, above all, attention probabilities), and a
//! profile of `jner train --backend spanmarker` on 2 cores put that serial draw and the idle
//! wait beside it at ~15 % of the step. Here each element's keep/drop decision is a
//! counter-based hash (SplitMix64 of the seed, the call number and the element index), filled
//! in parallel: the same distribution (each element dropped independently with probability
//! `p`, survivors scaled by `1/(1-p)`), a mask that does not depend on the thread count, and
//! the same gradient (the mask times the incoming gradient). Off the CPU (CUDA has a fused
//! dropout kernel) or for other dtypes it is libtorch's own dropout.
//!
//! The stream is per thread: [`set_seed`] seeds the calling thread's dropout (training loops
//! call it with their `--seed`), so runs on different threads do not disturb each other.

use std::cell::Cell;

use tch::{Device, Kind, Tensor};

thread_local! {
    /// (seed, number of masks drawn since the seed was set) of this thread.
    static STATE: Cell<(u64, u64)> = const { Cell::new((0, 0)) };
}

/// Seeds this thread's dropout masks and restarts their sequence.
pub fn set_seed(seed: u64) {
    STATE.with(|s| s.set((seed, 0)));
}

/// This thread's (seed, masks drawn so far): what a checkpoint keeps to resume the stream.
pub fn state() -> (u64, u64) {
    STATE.with(|s| s.get())
}

/// Restores a [`state`].
pub fn set_state(state: (u64, u64)) {
    STATE.with(|s| s.set(state));
}

/// The next call's key: distinct for every mask drawn on this thread.
fn next_key() -> u64 {
    STATE.with(|s| {
        let (seed, calls) = s.get();
        s.set((seed, calls + 1));
        splitmix64(seed ^ splitmix64(calls.wrapping_add(0x5851_f42d_4c95_7f2d)))
    })
}

/// SplitMix64's output function of `z` (a bijective 64-bit mixer).
#[inline]
fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// Element `i` of the SplitMix64 stream seeded with `z`.
#[inline]
fn splitmix64(z: u64) -> u64 {
    mix(z.wrapping_add(0x9e37_79b9_7f4a_7c15))
}

/// Fills `out` with the dropout mask of elements `first..first + out.len()` of the mask keyed
/// by `key`: `0` with probability `p`, else `scale`. `first` must be even (two elements per
/// 64-bit draw).
fn fill_mask(out: &mut [f32], key: u64, first: usize, p: f64, scale: f32) {
    debug_assert!(first.is_multiple_of(2));
    // drop when the 32-bit draw is below p·2^32
    let threshold = (p * 4_294_967_296.0).round().min(u32::MAX as f64) as u32;
    let pick = |r: u32| if r < threshold { 0.0 } else { scale };
    let mut pairs = out.chunks_exact_mut(2);
    let mut pair = (first / 2) as u64;
    for two in &mut pairs {
        let r = mix(key.wrapping_add(pair.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        two[0] = pick(r as u32);
        two[1] = pick((r >> 32) as u32);
        pair += 1;
    }
    if let [last] = pairs.into_remainder() {
        let r = mix(key.wrapping_add(pair.wrapping_mul(0x9e37_79b9_7f4a_7c15)));
        *last = pick(r as u32);
    }
}

/// Fills the whole mask `out` on up to `threads` threads (even-sized parts, so the result
/// is the same for any thread count).
fn fill_mask_parallel(out: &mut [f32], key: u64, p: f64, scale: f32, threads: usize) {
    const MIN_PART: usize = 1 << 16;
    let parts = threads.min(out.len() / MIN_PART).max(1);
    if parts == 1 {
        fill_mask(out, key, 0, p, scale);
        return;
    }
    let part = out.len().div_ceil(parts).next_multiple_of(2);
    std::thread::scope(|scope| {
        for (i, chunk) in out.chunks_mut(part).enumerate() {
            scope.spawn(move || fill_mask(chunk, key, i * part, p, scale));
        }
    });
}

/// Dropout of `x` with probability `p` when `train`, like `x.dropout(p, train)`.
pub fn dropout(x: &Tensor, p: f64, train: bool) -> Tensor {
    if !train || p <= 0.0 {
        return x.shallow_clone();
    }
    match mask(&x.size(), p, x.device(), x.kind()) {
        Some(m) => x * m,
        None => x.dropout(p, train),
    }
}

/// The mask [`dropout`] multiplies by (0, or `1/(1-p)` for survivors), from the same stream;
/// `None` where [`dropout`] would use libtorch's own (off the CPU, other dtypes, `p ≥ 1`).
/// For callers that apply it in place.
pub fn mask(size: &[i64], p: f64, device: Device, kind: Kind) -> Option<Tensor> {
    if p >= 1.0 || device != Device::Cpu || kind != Kind::Float {
        return None;
    }
    let mask = Tensor::empty(size, (Kind::Float, Device::Cpu));
    let n = mask.numel();
    if n > 0 {
        // SAFETY: `mask` was just allocated by libtorch as a contiguous CPU tensor of `n`
        // f32 elements; nothing else refers to its storage while this slice lives.
        let buf = unsafe { std::slice::from_raw_parts_mut(mask.data_ptr() as *mut f32, n) };
        let threads = tch::get_num_threads().max(1) as usize;
        fill_mask_parallel(buf, next_key(), p, (1.0 / (1.0 - p)) as f32, threads);
    }
    Some(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(n: usize, key: u64, p: f64, threads: usize) -> Vec<f32> {
        let mut v = vec![f32::NAN; n];
        fill_mask_parallel(&mut v, key, p, 2.0, threads);
        v
    }

    #[test]
    fn mask_has_the_right_rate_and_values() {
        for p in [0.1, 0.5, 0.9] {
            let m = mask(1_000_001, 7, p, 3);
            assert!(m.iter().all(|&v| v == 0.0 || v == 2.0));
            let dropped = m.iter().filter(|&&v| v == 0.0).count() as f64 / m.len() as f64;
            // binomial sd at n=1e6 is ≤ 5e-4
            assert!((dropped - p).abs() < 3e-3, "p={p}: dropped {dropped}");
            // both halves of each 64-bit draw are used, and independently
            let both = m
                .chunks_exact(2)
                .filter(|c| c[0] == 0.0 && c[1] == 0.0)
                .count() as f64
                / (m.len() / 2) as f64;
            assert!((both - p * p).abs() < 3e-3, "p={p}: both dropped {both}");
        }
    }

    #[test]
    fn mask_does_not_depend_on_the_thread_count_but_on_the_key() {
        let one = mask(300_001, 42, 0.1, 1);
        assert_eq!(one, mask(300_001, 42, 0.1, 2));
        assert_eq!(one, mask(300_001, 42, 0.1, 5));
        assert_ne!(one, mask(300_001, 43, 0.1, 1));
    }

    #[test]
    fn seeded_sequence_repeats_and_calls_differ() {
        let x = Tensor::ones([1000], (Kind::Float, Device::Cpu));
        set_seed(3);
        let a = dropout(&x, 0.3, true);
        let b = dropout(&x, 0.3, true);
        set_seed(3);
        let a2 = dropout(&x, 0.3, true);
        assert!(a.equal(&a2));
        assert!(!a.equal(&b));
    }

    #[test]
    fn identity_when_not_training_and_gradient_is_the_mask() {
        let x = Tensor::randn([64, 33], (Kind::Float, Device::Cpu)).set_requires_grad(true);
        assert!(dropout(&x, 0.1, false).equal(&x));
        assert!(dropout(&x, 0.0, true).equal(&x));
        let y = dropout(&x, 0.25, true);
        y.sum(Kind::Float).backward();
        let g = x.grad();
        let kept = g.ne(0.0);
        // the gradient is 0 or 1/(1-p), and y = x·gradient
        assert!(g
            .masked_select(&kept)
            .allclose(&Tensor::from(1.0f32 / 0.75), 1e-6, 1e-6, false));
        assert!(y.allclose(&(&x * &g), 1e-6, 1e-6, false));
        assert_eq!(
            dropout(&x, 1.0, true)
                .abs()
                .sum(Kind::Float)
                .double_value(&[]),
            0.0
        );
    }
}
