//! The Node binding: a thin `#[napi]` layer over `stoq-engine`. Values cross as JSON strings (parsed
//! once in TypeScript) and raw samples as typed arrays that take over the engine's buffers without a copy.
//! Engine errors become JS errors whose message starts with the stable code (`CODE: message`).

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering::Relaxed};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use stoq_engine::{Cancel, RunOptions, RunResult, Scenario, Server, ServerOptions, Settings};

/// Interval snapshots waiting for the JS thread; past this they are dropped (and counted), so a slow
/// JS consumer never blocks an engine thread.
const SNAPSHOT_QUEUE: usize = 64;

fn to_js(e: stoq_engine::Error) -> napi::Error {
    napi::Error::new(Status::GenericFailure, e.to_string())
}

fn invalid(message: String) -> napi::Error {
    to_js(stoq_engine::Error::invalid(message))
}

/// Runs engine code so that a panic becomes an INTERNAL error instead of crossing into Node.
fn guarded<T>(f: impl FnOnce() -> stoq_engine::Result<T>) -> napi::Result<T> {
    match catch_unwind(AssertUnwindSafe(f)) {
        Ok(r) => r.map_err(to_js),
        Err(p) => {
            let m = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
            Err(to_js(stoq_engine::Error::Internal(format!("engine panicked: {}", m.unwrap_or_default()))))
        }
    }
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("engine values serialise")
}

/// Validates a scenario (JSON), fills its defaults and returns it with its content-hash `id` (JSON).
#[napi]
pub fn normalize_scenario(scenario_json: String) -> napi::Result<String> {
    guarded(|| Scenario::from_json(&scenario_json).map(|s| s.to_json()))
}

/// Options of a server.
#[napi(object)]
pub struct ServerConfig {
    /// Address to listen on, `[v6addr]:port`; port 0 picks one.
    pub listen: String,
    /// Worker threads sharing the port. @default 1
    pub threads: Option<u32>,
    /// Certificate and private key PEM files; a self-signed certificate is generated when absent.
    pub cert: Option<String>,
    pub key: Option<String>,
    /// Transport settings (JSON of a scenario's `settings`) used when the server sends.
    pub settings_json: Option<String>,
    /// Write a qlog per connection into this directory.
    pub qlog_dir: Option<String>,
    /// Connections beyond this are refused with application error 2. @default 100000
    pub max_connections: Option<u32>,
}

/// A running `perf` server on its own threads.
#[napi]
pub struct NativeServer {
    inner: Option<Server>,
    address: String,
}

#[napi]
impl NativeServer {
    /// Binds and starts serving; the returned server reports its bound address.
    #[napi(factory)]
    pub fn start(config: ServerConfig) -> napi::Result<NativeServer> {
        let listen = config.listen.parse().map_err(|_| invalid(format!("invalid listen address {}", config.listen)))?;
        let identity = match (config.cert, config.key) {
            (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
            (None, None) => None,
            _ => return Err(invalid("give both a certificate and a key, or neither".into())),
        };
        let settings: Settings = match config.settings_json {
            Some(s) => serde_json::from_str(&s).map_err(|e| invalid(format!("invalid server settings: {e}")))?,
            None => Settings::default(),
        };
        let options = ServerOptions {
            listen,
            threads: config.threads.unwrap_or(1),
            identity,
            settings,
            qlog_dir: config.qlog_dir.map(PathBuf::from),
            max_connections: config.max_connections.map_or(100_000, u64::from),
        };
        let server = guarded(|| Server::start(options))?;
        let address = server.local_addr().to_string();
        Ok(NativeServer { inner: Some(server), address })
    }

    /// The bound address, e.g. `[::1]:4433`.
    #[napi(getter)]
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// Connection, byte and memory counters now (JSON of `ServerStats`).
    #[napi]
    pub fn stats(&self) -> napi::Result<String> {
        let server = self.inner.as_ref().ok_or_else(|| invalid("the server is stopped".into()))?;
        Ok(json(&server.stats()))
    }

    /// Closes every connection and stops the workers; resolves with the final stats and fast-path
    /// record (JSON `{ stats, fastPath }`).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn stop(&mut self) -> AsyncTask<StopTask> {
        AsyncTask::new(StopTask(self.inner.take()))
    }
}

pub struct StopTask(Option<Server>);

impl Task for StopTask {
    type Output = String;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<String> {
        let server = self.0.take().ok_or_else(|| invalid("the server is already stopped".into()))?;
        guarded(|| {
            let (stats, fast_path) = server.stop();
            Ok(json(&serde_json::json!({ "stats": stats, "fastPath": fast_path })))
        })
    }

    fn resolve(&mut self, _: Env, output: String) -> napi::Result<String> {
        Ok(output)
    }
}

/// Cancels a run from JS (wired to an AbortSignal by the TypeScript API).
#[napi]
pub struct NativeCancel(Cancel);

#[napi]
impl NativeCancel {
    #[napi(constructor)]
    pub fn new() -> Self {
        NativeCancel(Cancel::default())
    }

    #[napi]
    pub fn cancel(&self) {
        self.0.cancel();
    }
}

/// Options of a run.
#[napi(object)]
pub struct RunConfig {
    /// The server, `[v6addr]:port`.
    pub target: String,
    /// Interval length, ns (at least 10 ms). @default 1 s
    pub interval_ns: Option<f64>,
    /// Write a qlog per connection into this directory.
    pub qlog_dir: Option<String>,
    /// TLS server name. @default "localhost"
    pub server_name: Option<String>,
}

/// What a run hands back: the result (JSON) and the raw latency samples as typed arrays (no copy).
#[napi(object)]
pub struct RunOutput {
    /// JSON of the engine's `RunResult`: state, totals, intervals, connections, fast path, latency summary.
    pub result_json: String,
    /// Per-request, per-round-trip or per-handshake latency, ns, in completion order.
    pub latency_ns: BigUint64Array,
    /// When each sample completed, ns since the run started.
    pub latency_at_ns: BigUint64Array,
    /// Interval snapshots not delivered live because JS lagged (all are in `result_json` regardless).
    pub snapshots_dropped: u32,
}

type IntervalCallback = ThreadsafeFunction<String, (), String, Status, false, false, SNAPSHOT_QUEUE>;

/// Runs a scenario (JSON) on engine threads. `onInterval` receives each interval (JSON) as it ends.
#[napi(
    ts_args_type = "scenarioJson: string, config: RunConfig, cancel: NativeCancel, onInterval: (interval: string) => void",
    ts_return_type = "Promise<RunOutput>"
)]
pub fn run_scenario(
    scenario_json: String,
    config: RunConfig,
    cancel: &NativeCancel,
    on_interval: IntervalCallback,
) -> napi::Result<AsyncTask<RunTask>> {
    let scenario = Scenario::from_json(&scenario_json).map_err(to_js)?;
    let target = config.target.parse().map_err(|_| invalid(format!("invalid target address {}", config.target)))?;
    let mut options = RunOptions::new(target);
    if let Some(ns) = config.interval_ns {
        options.interval_ns = ns as u64;
    }
    options.qlog_dir = config.qlog_dir.map(PathBuf::from);
    if let Some(name) = config.server_name {
        options.server_name = name;
    }
    Ok(AsyncTask::new(RunTask {
        scenario,
        options,
        cancel: cancel.0.clone(),
        on_interval: Arc::new(on_interval),
        dropped: Arc::new(AtomicU32::new(0)),
    }))
}

pub struct RunTask {
    scenario: Scenario,
    options: RunOptions,
    cancel: Cancel,
    on_interval: Arc<IntervalCallback>,
    dropped: Arc<AtomicU32>,
}

impl Task for RunTask {
    type Output = RunResult;
    type JsValue = RunOutput;

    fn compute(&mut self) -> napi::Result<RunResult> {
        let callback = self.on_interval.clone();
        let dropped = self.dropped.clone();
        guarded(|| {
            stoq_engine::run(&self.scenario, &self.options, &self.cancel, &mut |interval| {
                let status = callback.call(json(interval), ThreadsafeFunctionCallMode::NonBlocking);
                if status != Status::Ok {
                    dropped.fetch_add(1, Relaxed);
                }
            })
        })
    }

    fn resolve(&mut self, _: Env, mut result: RunResult) -> napi::Result<RunOutput> {
        let latency_ns = std::mem::take(&mut result.latency_ns);
        let latency_at_ns = std::mem::take(&mut result.latency_at_ns);
        Ok(RunOutput {
            result_json: json(&result),
            latency_ns: BigUint64Array::new(latency_ns),
            latency_at_ns: BigUint64Array::new(latency_at_ns),
            snapshots_dropped: self.dropped.load(Relaxed),
        })
    }
}
