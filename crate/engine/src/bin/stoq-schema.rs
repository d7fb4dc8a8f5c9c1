//! Writes the JSON Schemas generated from the engine's types:
//!
//! ```text
//! stoq-schema DIR     writes DIR/run-record.schema.json and DIR/engine.schema.json
//! ```

use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(dir) = std::env::args().nth(1) else {
        eprintln!("usage: stoq-schema DIR");
        return ExitCode::from(2);
    };
    let files = [
        ("run-record.schema.json", stoq_engine::schema::record_schema()),
        ("engine.schema.json", stoq_engine::schema::engine_schema()),
    ];
    for (name, schema) in files {
        let path = std::path::Path::new(&dir).join(name);
        let text = serde_json::to_string_pretty(&schema).expect("a schema serialises") + "\n";
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("stoq-schema: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
    }
    ExitCode::SUCCESS
}
