//! `--accounts-out FILE.parquet`: one row per account, so a fleet's outcome
//! can be queried account by account with DuckDB, Polars or Spark.
//!
//! Written with the parquet crate's column writer (no Arrow), one row group
//! per block of accounts as the run hands them over, in account order. The
//! file is built beside its destination and renamed into place when
//! complete, so a killed run never leaves a truncated file under the name.
//! The shards of a fleet write files that are simply read together
//! (`SELECT ... FROM 'shard-*.parquet'`).

use std::fs::File;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use parquet::basic::Compression;
use parquet::data_type::{BoolType, ByteArray, ByteArrayType, Int64Type};
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use super::tally::AccountRow;

/// The columns, in order (what docs/fleet.md documents).
pub const SCHEMA: &str = "
message account {
  REQUIRED INT64 account;
  REQUIRED INT64 seed;
  REQUIRED BYTE_ARRAY payer (STRING);
  REQUIRED INT64 resources;
  REQUIRED INT64 history_events;
  REQUIRED INT64 trace_events;
  REQUIRED INT64 fees_charged;
  REQUIRED INT64 fees_not_charged;
  REQUIRED INT64 deductions_paid;
  REQUIRED INT64 deductions_failed;
  REQUIRED INT64 deductions_overdrawn;
  REQUIRED INT64 settlements;
  REQUIRED INT64 stops;
  REQUIRED INT64 restarts;
  REQUIRED INT64 releases;
  REQUIRED INT64 data_deleted;
  REQUIRED INT64 refunds;
  REQUIRED INT64 refunded;
  REQUIRED INT64 notifications;
  REQUIRED INT64 operations_allowed;
  REQUIRED INT64 operations_refused;
  REQUIRED INT64 days_overdue;
  OPTIONAL INT64 first_overdue_day;
  REQUIRED INT64 violations;
  REQUIRED BOOLEAN model_error;
}
";

/// A failure to write the rows, naming the file.
#[derive(Debug, thiserror::Error)]
#[error("failed to write the accounts to {path}: {message}")]
pub struct RowsError {
    pub path: String,
    pub message: String,
}

/// A Parquet file of account rows being written.
pub struct AccountsWriter {
    writer: Option<SerializedFileWriter<File>>,
    temporary: Option<tempfile::TempPath>,
    path: PathBuf,
    seed: u64,
}

/// A count as a Parquet INT64: counts of one fleet stay far below 2^63.
fn int(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl AccountsWriter {
    /// Starts writing to a temporary file beside `path`.
    pub fn create(path: &Path, seed: u64) -> Result<AccountsWriter, RowsError> {
        let fail = |message: String| RowsError {
            path: path.display().to_string(),
            message,
        };
        let temporary = crate::files::temporary_beside(path).map_err(|e| fail(e.reason))?;
        let (file, temporary) = temporary.into_parts();
        let schema = Arc::new(parse_message_type(SCHEMA).map_err(|e| fail(e.to_string()))?);
        let properties = Arc::new(
            WriterProperties::builder()
                .set_compression(Compression::UNCOMPRESSED)
                .set_created_by(format!("arrears {}", env!("CARGO_PKG_VERSION")))
                .build(),
        );
        let writer =
            SerializedFileWriter::new(file, schema, properties).map_err(|e| fail(e.to_string()))?;
        Ok(AccountsWriter {
            writer: Some(writer),
            temporary: Some(temporary),
            path: path.to_path_buf(),
            seed,
        })
    }

    fn fail(&self, message: impl std::fmt::Display) -> RowsError {
        RowsError {
            path: self.path.display().to_string(),
            message: message.to_string(),
        }
    }

    /// Writes `rows` as one row group.
    pub fn write(&mut self, rows: Vec<AccountRow>) -> Result<(), RowsError> {
        if rows.is_empty() {
            return Ok(());
        }
        let seed = int(self.seed);
        let ints: Vec<(&str, Vec<i64>)> = INTEGERS
            .iter()
            .map(|(name, value)| (*name, rows.iter().map(value).collect()))
            .chain([("seed", rows.iter().map(|_| seed).collect())])
            .collect();
        let first_overdue: Vec<i64> = rows
            .iter()
            .filter_map(|r| r.first_overdue_day.map(int))
            .collect();
        let first_overdue_levels: Vec<i16> = rows
            .iter()
            .map(|r| i16::from(r.first_overdue_day.is_some()))
            .collect();
        let payers: Vec<ByteArray> = rows.iter().map(|r| ByteArray::from(r.payer)).collect();
        let errors: Vec<bool> = rows.iter().map(|r| r.model_error).collect();
        let path = self.path.display().to_string();
        let fail = |message: String| RowsError {
            path: path.clone(),
            message,
        };
        let writer = self
            .writer
            .as_mut()
            .ok_or_else(|| fail("the writer is closed".to_string()))?;
        let mut group = writer.next_row_group().map_err(|e| fail(e.to_string()))?;
        let result = (|| -> parquet::errors::Result<()> {
            // Columns come in the schema's order.
            let mut names = COLUMNS.iter();
            while let Some(mut column) = group.next_column()? {
                let name = names.next().copied().unwrap_or_default();
                match name {
                    "payer" => {
                        column
                            .typed::<ByteArrayType>()
                            .write_batch(&payers, None, None)?;
                    }
                    "model_error" => {
                        column
                            .typed::<BoolType>()
                            .write_batch(&errors, None, None)?;
                    }
                    "first_overdue_day" => {
                        column.typed::<Int64Type>().write_batch(
                            &first_overdue,
                            Some(&first_overdue_levels),
                            None,
                        )?;
                    }
                    other => {
                        let values = ints
                            .iter()
                            .find(|(n, _)| *n == other)
                            .map(|(_, v)| v.as_slice())
                            .unwrap_or_default();
                        column
                            .typed::<Int64Type>()
                            .write_batch(values, None, None)?;
                    }
                }
                column.close()?;
            }
            group.close()?;
            Ok(())
        })();
        result.map_err(|e| fail(e.to_string()))
    }

    /// Finishes the file and moves it to its name.
    pub fn finish(mut self) -> Result<(), RowsError> {
        let Some(writer) = self.writer.take() else {
            return Err(self.fail("the writer is closed"));
        };
        let file = writer.into_inner().map_err(|e| self.fail(e))?;
        file.sync_all()
            .map_err(|e| self.fail(crate::files::plain_io(&e)))?;
        let Some(temporary) = self.temporary.take() else {
            return Err(self.fail("the temporary file is gone"));
        };
        temporary
            .persist(&self.path)
            .map_err(|e| self.fail(crate::files::plain_io(&e.error)))
    }
}

/// How a row gives an integer column's value.
type Column = fn(&AccountRow) -> i64;

/// The required integer columns other than `seed`, and how a row gives each.
const INTEGERS: [(&str, Column); 21] = [
    ("account", |r| int(r.account)),
    ("resources", |r| int(r.resources)),
    ("history_events", |r| int(r.history_events)),
    ("trace_events", |r| int(r.trace_events)),
    ("fees_charged", |r| r.fees_charged),
    ("fees_not_charged", |r| r.fees_not_charged),
    ("deductions_paid", |r| int(r.deductions_paid)),
    ("deductions_failed", |r| int(r.deductions_failed)),
    ("deductions_overdrawn", |r| int(r.deductions_overdrawn)),
    ("settlements", |r| int(r.settlements)),
    ("stops", |r| int(r.stops)),
    ("restarts", |r| int(r.restarts)),
    ("releases", |r| int(r.releases)),
    ("data_deleted", |r| int(r.data_deleted)),
    ("refunds", |r| int(r.refunds)),
    ("refunded", |r| r.refunded),
    ("notifications", |r| int(r.notifications)),
    ("operations_allowed", |r| int(r.operations_allowed)),
    ("operations_refused", |r| int(r.operations_refused)),
    ("days_overdue", |r| int(r.days_overdue)),
    ("violations", |r| int(r.violations)),
];

/// The columns' names, in [`SCHEMA`]'s order.
pub const COLUMNS: [&str; 25] = [
    "account",
    "seed",
    "payer",
    "resources",
    "history_events",
    "trace_events",
    "fees_charged",
    "fees_not_charged",
    "deductions_paid",
    "deductions_failed",
    "deductions_overdrawn",
    "settlements",
    "stops",
    "restarts",
    "releases",
    "data_deleted",
    "refunds",
    "refunded",
    "notifications",
    "operations_allowed",
    "operations_refused",
    "days_overdue",
    "first_overdue_day",
    "violations",
    "model_error",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_column_list_follows_the_schema() {
        let schema = parse_message_type(SCHEMA).unwrap();
        let names: Vec<&str> = schema.get_fields().iter().map(|f| f.name()).collect();
        assert_eq!(names, COLUMNS);
        for c in COLUMNS {
            let special = ["seed", "payer", "first_overdue_day", "model_error"].contains(&c);
            assert_eq!(
                INTEGERS.iter().filter(|(n, _)| *n == c).count(),
                usize::from(!special),
                "column {c} must be written exactly once"
            );
        }
    }
}
