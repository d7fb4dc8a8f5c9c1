//! The Node binding: a thin `#[napi]` layer over `stoq-engine`. Values cross as JSON strings, each the
//! serialisation of an engine type described by `schema/engine.schema.json` (the TypeScript types are
//! generated from it); raw samples cross as typed arrays that take over the engine's buffers without a
//! copy. An engine error becomes a JS `Error` whose `code` is the engine's stable code and, for an
//! invalid argument, whose `field` names the argument at fault.

use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use napi::bindgen_prelude::*;
use napi::threadsafe_function::{ThreadsafeFunction, ThreadsafeFunctionCallMode};
use napi_derive::napi;
use stoq_engine::metrics::Interval;
use stoq_engine::record::IntervalRecord;
use stoq_engine::schema::StoppedServer;
use stoq_engine::server::parse_prefix;
use stoq_engine::{
    ensure_descriptors, parse_address, AddressUse, Cancel, RecordContext, RunOptions, RunRecord, Scenario, Server,
    ServerAccess, ServerOptions, Settings,
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
    /// Accept only IPv6 on an IPv6 address (no IPv4-mapped clients on `[::]`).
    ///
    /// @default false
    pub ipv6_only: Option<bool>,
    /// Worker threads sharing the port (a reuseport group no other process can join).
    ///
    /// @default 1
    pub threads: Option<u32>,
    /// Certificate PEM file; a self-signed certificate is generated when neither it nor `key` is given.
    pub cert: Option<String>,
    /// Private key PEM file of `cert`.
    pub key: Option<String>,
    /// CA certificates (PEM file) client certificates must chain to; a client without one fails the
    /// handshake.
    pub client_ca: Option<String>,
    /// Sources allowed to use the server: IPv6 or IPv4 prefixes (`fd00::/64`, `10.0.0.0/8`) or
    /// addresses; absent or empty: everyone.
    pub allow: Option<Vec<String>>,
    /// Transport settings the server uses (JSON of a scenario's `settings`, every field optional), its idle
    /// timeout included.
    pub settings_json: Option<String>,
    /// Write a qlog per accepted connection into this directory.
    pub qlog_dir: Option<String>,
    /// Connections with state, half-open ones included; beyond it an Initial is refused before any state
    /// (CONNECTION_CLOSE with CONNECTION_REFUSED).
    ///
    /// @default 100000
    pub max_connections: Option<u32>,
    /// Half-open connections one source prefix (an IPv6 /64, an IPv4 address) may hold.
    ///
    /// @default 1024
    pub max_half_open_per_prefix: Option<u32>,
    /// Address validation with Retry: "always", "auto" (once half-open connections reach
    /// `retryThreshold`) or "never".
    ///
    /// @default "auto"
    pub retry: Option<String>,
    /// Half-open connections from which "auto" sends Retries.
    ///
    /// @default 64
    pub retry_threshold: Option<u32>,
    /// A connection whose handshake has not completed after this is dropped, ns.
    ///
    /// @default 2 s
    pub handshake_timeout_ns: Option<f64>,
    /// Largest response a request may ask for, bytes; above it the stream is refused with perf error 2
    /// (rejected).
    ///
    /// @default unlimited
    pub max_response: Option<f64>,
    /// Send rate cap per connection, bytes per second.
    ///
    /// @default unlimited
    pub max_rate: Option<f64>,
    /// Share the server's side of a client's own connections with that client (ALPN `stoq-bench-view`);
    /// when false, every question is refused and the client records why.
    ///
    /// @default true
    pub share_view: Option<bool>,
}

/// A whole number of bytes, bytes per second or ns from JS (at most 2^53).
fn whole(field: &'static str, v: f64) -> stoq_engine::Result<u64> {
    if v.is_finite() && v >= 0.0 && v.fract() == 0.0 && v <= 9_007_199_254_740_992.0 {
        Ok(v as u64)
    } else {
        Err(invalid(field, format!("{field} must be a whole number from 0 to 2^53, got {v}")))
    }
}

/// A running `perf` server on its own threads.
#[napi]
pub struct NativeServer {
    inner: Option<Server>,
    address: String,
    open_to_anyone: bool,
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
    let allow = config.allow.unwrap_or_default().iter().map(|p| parse_prefix(p)).collect::<stoq_engine::Result<_>>()?;
    Ok(ServerOptions {
        listen,
        ipv6_only: config.ipv6_only.unwrap_or(defaults.ipv6_only),
        threads: config.threads.unwrap_or(defaults.threads),
        identity,
        client_ca: config.client_ca.map(PathBuf::from),
        settings,
        qlog_dir: config.qlog_dir.map(PathBuf::from),
        max_connections: config.max_connections.map_or(defaults.max_connections, u64::from),
        max_half_open_per_prefix: config.max_half_open_per_prefix.map_or(defaults.max_half_open_per_prefix, u64::from),
        retry: config.retry.as_deref().map_or(Ok(defaults.retry), str::parse)?,
        retry_threshold: config.retry_threshold.map_or(defaults.retry_threshold, u64::from),
        handshake_timeout: match config.handshake_timeout_ns {
            Some(ns) => Duration::from_nanos(whole("handshakeTimeoutNs", ns)?),
            None => defaults.handshake_timeout,
        },
        allow,
        max_response: config.max_response.map(|v| whole("maxResponse", v)).transpose()?,
        max_rate: config.max_rate.map(|v| whole("maxRate", v)).transpose()?,
        share_view: config.share_view.unwrap_or(defaults.share_view),
    })
}

#[napi]
impl NativeServer {
    /// Binds and starts serving; the returned server reports its bound address.
    #[napi(factory)]
    pub fn start(env: Env, config: ServerConfig) -> napi::Result<NativeServer> {
        let (server, open_to_anyone) = guarded(|| {
            let options = server_options(config)?;
            let open_to_anyone = options.is_open_to_anyone();
            Ok((Server::start(options)?, open_to_anyone))
        })
        .map_err(|e| js_error(&env, &e))?;
        let address = server.local_addr().to_string();
        Ok(NativeServer { inner: Some(server), address, open_to_anyone })
    }

    /// The bound address, e.g. `[::1]:4433`.
    #[napi(getter)]
    pub fn address(&self) -> String {
        self.address.clone()
    }

    /// Whether anyone who reaches the port may use the server: it listens beyond loopback with no
    /// allowlist and no client certificates.
    #[napi(getter)]
    pub fn open_to_anyone(&self) -> bool {
        self.open_to_anyone
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
    /// Client certificate PEM file, for servers that require one (`server --client-ca`).
    pub client_cert: Option<String>,
    /// Private key PEM file of `clientCert`.
    pub client_key: Option<String>,
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
/// slows the engine. `server`: the embedded server the run measures, whose side of the run the record
/// then holds.
#[napi(
    ts_args_type = "scenarioJson: string, config: RunConfig, cancel: NativeCancel, onInterval: (interval: string) => void, server?: NativeServer | undefined | null",
    ts_return_type = "Promise<RunOutput>"
)]
pub fn run_scenario(
    env: Env,
    scenario_json: String,
    config: RunConfig,
    cancel: &NativeCancel,
    on_interval: IntervalCallback,
    server: Option<&NativeServer>,
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
        options.client_cert = match (config.client_cert, config.client_key) {
            (Some(c), Some(k)) => Some((PathBuf::from(c), PathBuf::from(k))),
            (None, None) => None,
            (Some(_), None) => {
                return Err(invalid("clientKey", "give both a client certificate and its key, or neither".into()))
            }
            (None, Some(_)) => {
                return Err(invalid("clientCert", "give both a client certificate and its key, or neither".into()))
            }
        };
        let context = serde_json::from_str(&config.context_json)
            .map_err(|e| invalid("context", format!("invalid record context: {e}")))?;
        options.server_view = match server.and_then(|s| s.inner.as_ref()) {
            Some(s) => ServerAccess::Embedded(s.board()),
            None => ServerAccess::Remote,
        };
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
