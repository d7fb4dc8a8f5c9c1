//! The Node binding: a thin `#[napi]` layer over `stoq-engine`. Values cross as JSON strings, each the
//! serialisation of an engine type described by `schema/engine.schema.json` (the TypeScript types are
//! generated from it); raw samples cross as typed arrays that take over the engine's buffers without a
//! copy. An engine error becomes a JS `Error` whose `code` is the engine's stable code and, for an
//! invalid argument, whose `field` names the argument at fault.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use stoq_engine::metrics::Interval;
use stoq_engine::record::IntervalRecord;
use stoq_engine::schema::StoppedServer;
use stoq_engine::{
    ensure_descriptors, parse_address, AddressUse, Cancel, RecordContext, RunOptions, RunRecord, Scenario, Server,
    ServerOptions, Settings,
};

type EngineError = stoq_engine::Error;

/// Interval snapshots waiting for the JS thread; past this they are dropped (and counted), so a slow
/// JS consumer never blocks an engine thread.
const SNAPSHOT_QUEUE: usize = 64;

/// The JS error for an engine error: `code` set to the stable code, `field` to the argument at fault.
fn js_error(env: &Env, e: &EngineError) -> napi::Error {
    let error = napi::Error::new(e.code(), e.message().to_string());
    let value = JsError::from(error).into_unknown(*env);
    let with_field = |value: &Unknown| -> napi::Result<()> {
        if let Some(field) = e.field() {
            value.coerce_to_object()?.set_named_property("field", field)?;
        }
        Ok(())
    };
    match with_field(&value) {
        Ok(()) => napi::Error::from(value),
        Err(failed) => failed,
    }
}

fn invalid(field: &'static str, message: String) -> EngineError {
    EngineError::invalid_field(field, message)
}

/// Runs engine code so that a panic becomes an INTERNAL error instead of crossing into Node.
fn guarded<T>(f: impl FnOnce() -> stoq_engine::Result<T>) -> stoq_engine::Result<T> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|p| {
        let m = p.downcast_ref::<&str>().map(|s| s.to_string()).or_else(|| p.downcast_ref::<String>().cloned());
        Err(EngineError::Internal(format!("engine panicked: {}", m.unwrap_or_default())))
    })
}

fn json<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("engine values serialise")
}

/// The engine's interface as data (JSON of `EngineSpec`): scenario kinds and the fields each takes,
/// limits, defaults, error codes, the percentile rule, and how this engine was built.
#[napi]
pub fn engine_spec() -> String {
    json(&stoq_engine::engine_spec())
}

/// Validates a scenario (JSON of `ScenarioInput`), fills its defaults and returns it with its
/// content-hash `id` (JSON of `Scenario`).
#[napi]
pub fn normalize_scenario(env: Env, scenario_json: String) -> napi::Result<String> {
    guarded(|| Scenario::from_json(&scenario_json).map(|s| s.to_json())).map_err(|e| js_error(&env, &e))
}

/// Reads an address as people type it (`[v6addr]:port`, `v4addr:port`, `name:port`; a link-local IPv6
/// address with its zone, `[fe80::1%eth0]:4433`) and returns it as the engine will use it: a name
/// resolved (IPv6 first, then IPv4), a zone as its interface index (`[fe80::1%2]:4433`). A target
/// (`listen` false) is one host with a port other than 0; a listening address may be a wildcard with
/// port 0. Throws `INVALID_ARGUMENT` with `field` `target` or `listen`, naming the text as typed.
#[napi(js_name = "parseAddress")]
pub fn parse_address_js(env: Env, text: String, listen: bool) -> napi::Result<String> {
    let usage = if listen { AddressUse::Listen } else { AddressUse::Target };
    guarded(|| parse_address(&text, usage).map(|a| a.to_string())).map_err(|e| js_error(&env, &e))
}

/// Checks that this process may open what a run of the scenario (JSON of `ScenarioInput`) needs: a UDP
/// socket per connection, and a qlog file each when `qlog`. Raises the soft `RLIMIT_NOFILE` up to the
/// hard limit where it is too low; throws `INVALID_ARGUMENT` (field `connections`) where even that is.
#[napi]
pub fn check_descriptors(env: Env, scenario_json: String, qlog: bool) -> napi::Result<()> {
    guarded(|| ensure_descriptors(&Scenario::from_json(&scenario_json)?, qlog)).map_err(|e| js_error(&env, &e))
}

/// Options of a server.
#[napi(object)]
pub struct ServerConfig {
    /// Address to listen on, `[v6addr]:port`; port 0 picks one.
    ///
    /// @default "[::]:4433"
    pub listen: Option<String>,
    /// Worker threads sharing the port.
    ///
    /// @default 1
    pub threads: Option<u32>,
    /// Certificate PEM file; a self-signed certificate is generated when neither it nor `key` is given.
    pub cert: Option<String>,
    /// Private key PEM file of `cert`.
    pub key: Option<String>,
    /// Transport settings the server sends with (JSON of a scenario's `settings`, every field optional).
    pub settings_json: Option<String>,
    /// Write a qlog per connection into this directory.
    pub qlog_dir: Option<String>,
    /// Connections beyond this are refused with application error 2.
    ///
    /// @default 100000
    pub max_connections: Option<u32>,
}

/// A running `perf` server on its own threads.
#[napi]
pub struct NativeServer {
    inner: Option<Server>,
    address: String,
}

fn server_options(config: ServerConfig) -> stoq_engine::Result<ServerOptions> {
    let defaults = ServerOptions::default();
    let listen = match config.listen {
        Some(l) => parse_address(&l, AddressUse::Listen)?,
        None => defaults.listen,
    };
    let identity = match (config.cert, config.key) {
        (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
        (None, None) => None,
        (Some(_), None) => return Err(invalid("key", "give both a certificate and a key, or neither".into())),
        (None, Some(_)) => return Err(invalid("cert", "give both a certificate and a key, or neither".into())),
    };
    let settings: Settings = match config.settings_json {
        Some(s) => {
            serde_json::from_str(&s).map_err(|e| invalid("settings", format!("invalid server settings: {e}")))?
        }
        None => Settings::default(),
    };
    Ok(ServerOptions {
        listen,
        threads: config.threads.unwrap_or(defaults.threads),
        identity,
        settings,
        qlog_dir: config.qlog_dir.map(PathBuf::from),
        max_connections: config.max_connections.map_or(defaults.max_connections, u64::from),
    })
}

#[napi]
impl NativeServer {
    /// Binds and starts serving; the returned server reports its bound address.
    #[napi(factory)]
    pub fn start(env: Env, config: ServerConfig) -> napi::Result<NativeServer> {
        let server = guarded(|| Server::start(server_options(config)?)).map_err(|e| js_error(&env, &e))?;
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
    pub fn stats(&self, env: Env) -> napi::Result<String> {
        match self.inner.as_ref() {
            Some(server) => Ok(json(&server.stats())),
            None => Err(js_error(&env, &stoq_engine::Error::invalid("the server is stopped"))),
        }
    }

    /// Closes every connection and stops the workers; resolves with the final counters and fast-path
    /// record (JSON of `StoppedServer`).
    #[napi(ts_return_type = "Promise<string>")]
    pub fn stop(&mut self) -> AsyncTask<StopTask> {
        AsyncTask::new(StopTask(self.inner.take()))
    }
}

pub struct StopTask(Option<Server>);

impl Task for StopTask {
    type Output = stoq_engine::Result<String>;
    type JsValue = String;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let server = self.0.take();
        Ok(guarded(|| {
            let server = server.ok_or_else(|| stoq_engine::Error::invalid("the server is already stopped"))?;
            let (stats, fast_path) = server.stop();
            Ok(json(&StoppedServer { stats, fast_path }))
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<String> {
        output.map_err(|e| js_error(&env, &e))
    }
}

/// Cancels a run from JS (wired to an AbortSignal by the TypeScript API).
#[napi]
pub struct NativeCancel(Cancel);

#[napi]
impl NativeCancel {
    #[napi(constructor)]
    #[allow(clippy::new_without_default, reason = "a JS class constructor, not a Rust value")]
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
    /// The server: `[v6addr]:port`, `v4addr:port` or `name:port` (resolved, IPv6 first), a link-local
    /// address with its zone (`[fe80::1%eth0]:4433`); see `parseAddress`.
    pub target: String,
    /// Interval length, ns (at least 10 ms).
    ///
    /// @default 1000000000 (1 s)
    pub interval_ns: Option<f64>,
    /// Write a qlog per connection into this directory.
    pub qlog_dir: Option<String>,
    /// TLS server name.
    ///
    /// @default "localhost"
    pub server_name: Option<String>,
    /// What the record carries besides the measurement (JSON of `RecordContext`).
    pub context_json: String,
}

/// What a run hands back: its record (JSON) and the raw latency samples as typed arrays (no copy).
#[napi(object)]
pub struct RunOutput {
    /// JSON of the run's `RunRecord` (the embedded server's part is the caller's to add).
    pub record_json: String,
    /// Per-request, per-round-trip or per-handshake latency, ns, in completion order.
    pub latency_ns: BigUint64Array,
    /// When each sample completed, ns since the run started.
    pub latency_at_ns: BigUint64Array,
}

type IntervalCallback = ThreadsafeFunction<String, (), String, Status, false, false, SNAPSHOT_QUEUE>;

/// Runs a scenario (JSON of `ScenarioInput`) on engine threads. `onInterval` receives each interval
/// (JSON of `IntervalRecord`) as it ends; a slow consumer misses snapshots (counted in the record), never
/// slows the engine.
#[napi(
    ts_args_type = "scenarioJson: string, config: RunConfig, cancel: NativeCancel, onInterval: (interval: string) => void",
    ts_return_type = "Promise<RunOutput>"
)]
pub fn run_scenario(
    env: Env,
    scenario_json: String,
    config: RunConfig,
    cancel: &NativeCancel,
    on_interval: IntervalCallback,
) -> napi::Result<AsyncTask<RunTask>> {
    let prepare = || -> stoq_engine::Result<(Scenario, RunOptions, RecordContext)> {
        let scenario = Scenario::from_json(&scenario_json)?;
        let mut options = RunOptions::new(parse_address(&config.target, AddressUse::Target)?);
        if let Some(ns) = config.interval_ns {
            options.interval_ns = ns as u64;
        }
        options.qlog_dir = config.qlog_dir.map(PathBuf::from);
        if let Some(name) = config.server_name {
            options.server_name = name;
        }
        let context = serde_json::from_str(&config.context_json)
            .map_err(|e| invalid("context", format!("invalid record context: {e}")))?;
        Ok((scenario, options, context))
    };
    let (scenario, options, context) = guarded(prepare).map_err(|e| js_error(&env, &e))?;
    Ok(AsyncTask::new(RunTask {
        scenario,
        options,
        context: Some(context),
        cancel: cancel.0.clone(),
        on_interval: Arc::new(on_interval),
        dropped: Arc::new(AtomicU64::new(0)),
    }))
}

pub struct RunTask {
    scenario: Scenario,
    options: RunOptions,
    context: Option<RecordContext>,
    cancel: Cancel,
    on_interval: Arc<IntervalCallback>,
    dropped: Arc<AtomicU64>,
}

/// A finished run: its record (JSON) and the raw samples it moves to JS.
pub struct Finished {
    record_json: String,
    latency_ns: Vec<u64>,
    latency_at_ns: Vec<u64>,
}

impl Task for RunTask {
    type Output = stoq_engine::Result<Finished>;
    type JsValue = RunOutput;

    fn compute(&mut self) -> napi::Result<Self::Output> {
        let callback = self.on_interval.clone();
        let dropped = self.dropped.clone();
        let context = self.context.take();
        Ok(guarded(|| {
            let mut result =
                stoq_engine::run(&self.scenario, &self.options, &self.cancel, &mut |interval: &Interval| {
                    let status =
                        callback.call(json(&IntervalRecord::from(interval)), ThreadsafeFunctionCallMode::NonBlocking);
                    if status != Status::Ok {
                        dropped.fetch_add(1, Relaxed);
                    }
                })?;
            let context = context.ok_or_else(|| stoq_engine::Error::Internal("a run task ran twice".into()))?;
            let record = RunRecord::new(&self.scenario, &result, context, dropped.load(Relaxed));
            Ok(Finished {
                record_json: json(&record),
                latency_ns: std::mem::take(&mut result.latency_ns),
                latency_at_ns: std::mem::take(&mut result.latency_at_ns),
            })
        }))
    }

    fn resolve(&mut self, env: Env, output: Self::Output) -> napi::Result<RunOutput> {
        let finished = output.map_err(|e| js_error(&env, &e))?;
        Ok(RunOutput {
            record_json: finished.record_json,
            latency_ns: BigUint64Array::new(finished.latency_ns),
            latency_at_ns: BigUint64Array::new(finished.latency_at_ns),
        })
    }
}
