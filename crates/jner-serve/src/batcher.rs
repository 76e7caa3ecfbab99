//! Dynamic batching: one queue per model, drained by a fixed pool of inference threads (plain
//! OS threads, apart from the async I/O runtime). A worker takes the oldest live request and
//! adds the following ones that ask for the same options, until the batch holds
//! `max_batch_words` whitespace words or `max_batch_requests` requests. There is no delay
//! timer: requests that arrive while a batch runs form the next one. Requests whose client
//! has gone (the handler dropped its receiver) or whose deadline passed are dropped before
//! inference and counted.

use std::collections::VecDeque;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::{Arc, Condvar, Mutex};
use std::time::Instant;

use jner_corpus::{Entity, PredictOptions, Recognizer};
use tokio::sync::oneshot;

use crate::error::ApiError;
use crate::metrics::{Metrics, Reason};

/// Limits of one batch.
#[derive(Clone, Debug)]
pub struct BatchConfig {
    /// Whitespace words per batch (a single larger request runs alone).
    pub max_batch_words: usize,
    /// Requests per batch; 1 turns batching off.
    pub max_batch_requests: usize,
    /// Inference threads per model.
    pub workers: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_batch_words: 16_384,
            max_batch_requests: 64,
            workers: 1,
        }
    }
}

/// What a request gets back from its batch.
pub struct Done {
    pub texts: Vec<String>,
    pub entities: Vec<Vec<Entity>>,
    pub windows: Vec<usize>,
}

/// One queued request.
pub struct Job {
    pub texts: Vec<String>,
    pub opts: PredictOptions,
    pub words: usize,
    pub deadline: Instant,
    pub enqueued: Instant,
    pub reply: oneshot::Sender<Result<Done, ApiError>>,
}

impl Job {
    /// Requests batch together when their options are the same.
    fn compatible(&self, o: &Job) -> bool {
        self.opts.labels == o.opts.labels
            && self.opts.threshold.map(f32::to_bits) == o.opts.threshold.map(f32::to_bits)
            && self.opts.nested == o.opts.nested
            && self.opts.multi_label == o.opts.multi_label
    }
}

struct State {
    jobs: VecDeque<Job>,
    closed: bool,
}

struct Inner {
    name: String,
    rec: Arc<dyn Recognizer>,
    config: BatchConfig,
    metrics: Arc<Metrics>,
    state: Mutex<State>,
    ready: Condvar,
}

/// The queue of one model and its workers.
pub struct Batcher {
    inner: Arc<Inner>,
    workers: Mutex<Vec<std::thread::JoinHandle<()>>>,
}

impl Batcher {
    pub fn start(
        name: &str,
        rec: Arc<dyn Recognizer>,
        config: BatchConfig,
        metrics: Arc<Metrics>,
    ) -> std::io::Result<Self> {
        let inner = Arc::new(Inner {
            name: name.to_string(),
            rec,
            config: config.clone(),
            metrics,
            state: Mutex::new(State {
                jobs: VecDeque::new(),
                closed: false,
            }),
            ready: Condvar::new(),
        });
        let workers = (0..config.workers.max(1))
            .map(|i| {
                let inner = inner.clone();
                std::thread::Builder::new()
                    .name(format!("jner-infer-{name}-{i}"))
                    .spawn(move || inner.work())
            })
            .collect::<std::io::Result<Vec<_>>>()?;
        Ok(Batcher {
            inner,
            workers: Mutex::new(workers),
        })
    }

    /// Queues a request (never blocks; admission is bounded by the caller's semaphore).
    pub fn submit(&self, job: Job) {
        let n = job.texts.len() as i64;
        let mut st = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
        if st.closed {
            let _ = job
                .reply
                .send(Err(ApiError::not_ready("the server is shutting down")));
            return;
        }
        st.jobs.push_back(job);
        self.inner.metrics.queue_depth.inc_by(n);
        drop(st);
        self.inner.ready.notify_one();
    }

    /// Stops the workers once the queue is empty, and waits for them.
    pub fn close(&self) {
        {
            let mut st = self.inner.state.lock().unwrap_or_else(|p| p.into_inner());
            st.closed = true;
        }
        self.inner.ready.notify_all();
        let handles: Vec<_> = self
            .workers
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .drain(..)
            .collect();
        for h in handles {
            let _ = h.join();
        }
    }
}

impl Inner {
    fn drop_job(&self, job: Job, now: Instant) {
        self.metrics.queue_depth.dec_by(job.texts.len() as i64);
        let reason = if job.deadline <= now {
            "deadline"
        } else {
            "client_gone"
        };
        self.metrics
            .dropped
            .get_or_create(&Reason {
                reason: reason.into(),
            })
            .inc();
        if reason == "deadline" {
            let _ = job.reply.send(Err(ApiError::timeout(
                "the request's deadline passed while it waited in the queue",
            )));
        }
    }

    /// The next batch, or `None` when closed and empty.
    fn next_batch(&self) -> Option<Vec<Job>> {
        let mut st = self.state.lock().unwrap_or_else(|p| p.into_inner());
        loop {
            while st.jobs.is_empty() && !st.closed {
                st = self.ready.wait(st).unwrap_or_else(|p| p.into_inner());
            }
            if st.jobs.is_empty() {
                return None;
            }
            let now = Instant::now();
            let mut batch: Vec<Job> = Vec::new();
            let mut words = 0usize;
            let mut skipped: VecDeque<Job> = VecDeque::new();
            while let Some(job) = st.jobs.pop_front() {
                if job.reply.is_closed() || job.deadline <= now {
                    self.drop_job(job, now);
                    continue;
                }
                let fits = batch.first().is_none_or(|first| {
                    batch.len() < self.config.max_batch_requests.max(1)
                        && first.compatible(&job)
                        && words + job.words <= self.config.max_batch_words
                });
                if fits {
                    words += job.words;
                    batch.push(job);
                } else {
                    skipped.push_back(job);
                }
                if batch.len() >= self.config.max_batch_requests.max(1)
                    || words >= self.config.max_batch_words
                {
                    break;
                }
            }
            skipped.extend(st.jobs.drain(..));
            st.jobs = skipped;
            if batch.is_empty() {
                continue;
            }
            let n: usize = batch.iter().map(|j| j.texts.len()).sum();
            self.metrics.queue_depth.dec_by(n as i64);
            if !st.jobs.is_empty() {
                // another worker can start on what is left
                self.ready.notify_one();
            }
            return Some(batch);
        }
    }

    fn work(&self) {
        let model = Metrics::model(&self.name);
        while let Some(batch) = self.next_batch() {
            let start = Instant::now();
            for j in &batch {
                self.metrics
                    .queue_time
                    .get_or_create(&model)
                    .observe((start - j.enqueued).as_secs_f64());
            }
            let texts: Vec<&str> = batch
                .iter()
                .flat_map(|j| j.texts.iter().map(String::as_str))
                .collect();
            let words: usize = batch.iter().map(|j| j.words).sum();
            let opts = &batch[0].opts;
            let result = catch_unwind(AssertUnwindSafe(|| {
                let ents = self.rec.predict(&texts, opts).map_err(|e| e.to_string())?;
                let windows: Vec<usize> = texts.iter().map(|t| self.rec.windows(t, opts)).collect();
                Ok::<_, String>((ents, windows))
            }));
            let secs = start.elapsed().as_secs_f64();
            self.metrics
                .inference_time
                .get_or_create(&model)
                .observe(secs);
            self.metrics
                .batch_texts
                .get_or_create(&model)
                .observe(texts.len() as f64);
            self.metrics
                .batch_words
                .get_or_create(&model)
                .observe(words as f64);
            drop(texts);
            match result {
                Ok(Ok((ents, windows))) if ents.len() == windows.len() => {
                    let mut ents = ents.into_iter();
                    let mut windows = windows.into_iter();
                    for j in batch {
                        let n = j.texts.len();
                        let done = Done {
                            entities: ents.by_ref().take(n).collect(),
                            windows: windows.by_ref().take(n).collect(),
                            texts: j.texts,
                        };
                        let _ = j.reply.send(Ok(done));
                    }
                }
                other => {
                    let msg = match other {
                        Ok(Err(e)) => format!("the model failed: {e}"),
                        Ok(Ok(_)) => "the model returned a wrong number of results".into(),
                        Err(_) => "the model panicked on this batch".into(),
                    };
                    tracing::error!(model = %self.name, "{msg}");
                    for j in batch {
                        let _ = j.reply.send(Err(ApiError::model(msg.clone())));
                    }
                }
            }
        }
    }
}
