//! `arrears rules`: every rule of the specs, as a table or JSON.

use std::path::Path;

use arrears::exit;
use arrears::explain;

use super::{Done, Failure, Format, load_catalog, to_json, unknown_product};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// Only the rules of this product (ecs, emr, maxcompute, flink, spark).
    #[arg(long)]
    pub(crate) product: Option<String>,
    /// Print the rules as a table (text) or as JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
}

pub(crate) fn run(specs: Option<&Path>, args: Args) -> Result<Done, Failure> {
    let Args { product, format } = args;
    let catalog = load_catalog(specs)?;
    if let Some(p) = &product
        && catalog.document_named(p).is_none()
    {
        return Err(unknown_product(&catalog, p));
    }
    let rules = explain::summaries(&catalog, product.as_deref());
    let text = match format {
        Format::Text => explain::rules_table(&rules),
        Format::Json => to_json(&rules)? + "\n",
    };
    Ok(Done::new(exit::OK, text))
}
