//! quiche's qlog, one file per connection (`--qlog DIR`).

use std::io::Write;
use std::path::Path;

/// A qlog file for one connection: `DIR/ROLE-TRACEID.sqlog`; none when the file cannot be created.
pub(crate) fn qlog_writer(dir: &Path, role: &str, trace_id: &str) -> Option<Box<dyn Write + Send + Sync>> {
    let file = std::fs::File::create(dir.join(format!("{role}-{trace_id}.sqlog"))).ok()?;
    Some(Box::new(std::io::BufWriter::new(file)))
}
