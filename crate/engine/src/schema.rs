//! JSON Schemas generated from the engine's types: the run record (`schema/run-record.schema.json`, the
//! public description of every record) and the binding's JSON (`schema/engine.schema.json`: the engine
//! spec, scenario input, record context and the server's counters, with the record types referenced from
//! the record schema). Every object is closed (`additionalProperties: false`), and only the standard
//! `format`s of draft-07 remain. `stoq-schema` writes both; CI fails when the committed ones differ.

use schemars::generate::SchemaSettings;
use schemars::transform::{transform_subschemas, RestrictFormats, Transform};
use schemars::{JsonSchema, Schema};
use serde::Serialize;
use serde_json::Value;

use crate::record::{IntervalRecord, RecordContext, RunRecord};
use crate::scenario::Scenario;
use crate::server::ServerStats;
use crate::socket::FastPath;
use crate::spec::EngineSpec;

/// Where the record schema is published (its `$id`).
pub const RECORD_SCHEMA_ID: &str = "https://stoq-bench.dev/schema/run-record.schema.json";
/// Where the binding's schema is published (its `$id`).
pub const ENGINE_SCHEMA_ID: &str = "https://stoq-bench.dev/schema/engine.schema.json";

/// Closes every object schema that lists its properties.
#[derive(Clone)]
struct CloseObjects;

impl Transform for CloseObjects {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(obj) = schema.as_object_mut() {
            if obj.contains_key("properties") && !obj.contains_key("additionalProperties") {
                obj.insert("additionalProperties".into(), Value::Bool(false));
            }
        }
        transform_subschemas(self, schema);
    }
}

/// What the engine writes: an optional property is absent, never null (`skip_serializing_if`), and
/// `default`s (which describe input) are left out.
#[derive(Clone)]
struct OutputOnly;

impl Transform for OutputOnly {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(obj) = schema.as_object_mut() {
            obj.remove("default");
            let required: Vec<String> = match obj.get("required") {
                Some(Value::Array(r)) => r.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
                _ => Vec::new(),
            };
            if let Some(Value::Object(props)) = obj.get_mut("properties") {
                for (_, prop) in props.iter_mut().filter(|(name, _)| !required.contains(name)) {
                    not_null(prop);
                }
            }
        }
        transform_subschemas(self, schema);
    }
}

/// Removes `null` from a property's alternatives: `anyOf [X, null]` becomes X, `type [t, null]` becomes t.
fn not_null(prop: &mut Value) {
    let Value::Object(p) = prop else { return };
    if let Some(Value::Array(types)) = p.get_mut("type") {
        types.retain(|t| t != "null");
        if types.len() == 1 {
            let only = types.remove(0);
            p.insert("type".into(), only);
        }
    }
    if let Some(Value::Array(any)) = p.get("anyOf") {
        let rest: Vec<Value> =
            any.iter().filter(|a| a.get("type").and_then(Value::as_str) != Some("null")).cloned().collect();
        if rest.len() == 1 {
            p.remove("anyOf");
            p.insert("allOf".into(), Value::Array(rest));
        }
    }
}

fn settings(serialize: bool) -> SchemaSettings {
    let s = SchemaSettings::draft07();
    let s = if serialize { s.for_serialize().with_transform(OutputOnly) } else { s.for_deserialize() };
    s.with_transform(RestrictFormats::default()).with_transform(CloseObjects)
}

/// The schema of the run record, as the engine writes it.
pub fn record_schema() -> Schema {
    let mut schema = settings(true).into_generator().into_root_schema_for::<RunRecord>();
    schema.insert("$id".into(), RECORD_SCHEMA_ID.into());
    schema
}

/// Values that cross the binding as JSON, each under its name (the root is the engine spec).
#[derive(JsonSchema)]
#[serde(rename_all = "camelCase")]
#[allow(dead_code, reason = "a schema root: only its type is used")]
struct BindingValues {
    spec: EngineSpec,
    /// A normalised scenario.
    scenario: Scenario,
    /// A run's record.
    record: RunRecord,
    /// One interval, as it ends.
    interval: IntervalRecord,
    /// What the caller adds to a run's record.
    context: RecordContext,
    /// A server's counters.
    server_stats: ServerStats,
    /// A stopped server's final counters and fast path.
    stopped: StoppedServer,
}

/// A stopped server: its final counters and the fast path its sockets used.
#[derive(Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct StoppedServer {
    pub stats: ServerStats,
    pub fast_path: FastPath,
}

/// The schema of the binding's JSON: the serialised values, and the scenario as callers may give it
/// (`ScenarioInput`: every field but `kind` optional, defaults filled in by the engine).
pub fn engine_schema() -> Schema {
    let mut generator = settings(true).into_generator();
    let mut schema = generator.root_schema_for::<BindingValues>();
    let mut input = settings(false).into_generator();
    let mut scenario_input = input.root_schema_for::<Scenario>();
    scenario_input.remove("$schema");
    scenario_input.insert("title".into(), "ScenarioInput".into());
    let defs = schema.ensure_object().entry("definitions").or_insert_with(|| Value::Object(Default::default()));
    if let Value::Object(defs) = defs {
        // The input's definitions that differ from the output's (settings: every field optional) get
        // their own `…Input` name; the others (the enums) are the output's.
        let mut renamed = Vec::new();
        for (name, def) in input.take_definitions(true) {
            if defs.get(&name) != Some(&def) {
                renamed.push(name.clone());
                defs.insert(format!("{name}Input"), def);
            }
        }
        defs.insert("ScenarioInput".into(), rename_refs(scenario_input.to_value(), &renamed));
    }
    // Types are named by their definitions (a title, meant for the published record schema, would rename one).
    if let Some(Value::Object(defs)) = schema.get_mut("definitions") {
        defs.values_mut().filter_map(Value::as_object_mut).for_each(|d| drop(d.remove("title")));
    }
    schema.insert("$id".into(), ENGINE_SCHEMA_ID.into());
    schema
}

/// Points the input schema's `$ref`s to the `renamed` definitions at their `…Input` names.
fn rename_refs(mut value: Value, renamed: &[String]) -> Value {
    match &mut value {
        Value::Object(map) => {
            for (key, v) in map.iter_mut() {
                match v {
                    Value::String(r) if key == "$ref" => {
                        if renamed.iter().any(|n| r.ends_with(&format!("/{n}"))) {
                            r.push_str("Input");
                        }
                    }
                    _ => *v = rename_refs(v.take(), renamed),
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|v| *v = rename_refs(v.take(), renamed)),
        _ => {}
    }
    value
}
