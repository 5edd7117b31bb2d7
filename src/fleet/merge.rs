//! Shard results combined: a merge of the results of one fleet's shards
//! into the result of one run, refusing results that do not belong
//! together, and reading a result back from its JSON.

use std::collections::BTreeSet;

use super::{FORMAT_VERSION, FleetResult, FleetUsageError};

impl FleetResult {
    /// Merges shard results of one fleet into the result of the shards
    /// together; refuses results of different fleets, specs, mixes,
    /// versions or formats, and a shard given twice.
    pub fn merge(results: &[FleetResult]) -> Result<FleetResult, FleetUsageError> {
        let fail = |m: String| Err(FleetUsageError::Merge(m));
        let Some(first) = results.first() else {
            return fail("no results to merge".to_string());
        };
        let mut merged = first.clone();
        let mut seen: BTreeSet<u32> = first.shards.iter().copied().collect();
        for (i, r) in results.iter().enumerate().skip(1) {
            let differs = |what: &str, a: &dyn std::fmt::Display, b: &dyn std::fmt::Display| {
                FleetUsageError::Merge(format!(
                    "result {} has {what} {b}, result 1 has {a}; results of different runs do \
                     not add up",
                    i + 1
                ))
            };
            // What must be equal for two results to add up.
            let identity = |x: &FleetResult| {
                [
                    ("format version", x.format_version.to_string()),
                    ("arrears version", x.arrears_version.clone()),
                    ("specs", x.specs.clone()),
                    ("seed", x.seed.to_string()),
                    ("days", x.days.to_string()),
                    ("a fleet of accounts", x.fleet_accounts.to_string()),
                    ("a shard count", x.shard_count.to_string()),
                ]
            };
            for ((what, a), (_, b)) in identity(first).iter().zip(identity(r).iter()) {
                if a != b {
                    return Err(differs(what, a, b));
                }
            }
            if r.mix != first.mix {
                return fail(format!(
                    "result {} was run with another mix than result 1",
                    i + 1
                ));
            }
            for s in &r.shards {
                if !seen.insert(*s) {
                    return fail(format!(
                        "shard {s}/{} is given twice (again in result {})",
                        r.shard_count,
                        i + 1
                    ));
                }
            }
            merged.tally.merge(&r.tally);
        }
        merged.shards = seen.into_iter().collect();
        // All the shards together are the fleet: the result of one run.
        if merged.complete() {
            merged.shard_count = 1;
            merged.shards = vec![1];
        }
        Ok(merged)
    }

    /// Whether every shard of the fleet is in this result.
    pub fn complete(&self) -> bool {
        self.shards.len() as u64 == u64::from(self.shard_count)
    }

    /// Reads a result written with `--json`; `name` names it in errors.
    pub fn from_json(name: &str, text: &str) -> Result<FleetResult, FleetUsageError> {
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|e| FleetUsageError::Merge(format!("{name}: not a fleet result: {e}")))?;
        let version = value.get("format_version").and_then(|v| v.as_u64());
        if version != Some(u64::from(FORMAT_VERSION)) {
            return Err(FleetUsageError::Merge(format!(
                "{name}: format version {}, this arrears reads {FORMAT_VERSION}",
                version.map_or("(none)".to_string(), |v| v.to_string())
            )));
        }
        serde_json::from_value(value)
            .map_err(|e| FleetUsageError::Merge(format!("{name}: not a fleet result: {e}")))
    }
}
