//! `arrears explain`: one rule, interpretation or lifecycle, with its source
//! anchor and everything in the specs that covers it.

use std::path::Path;

use arrears::exit;
use arrears::explain;

use super::{Done, Failure, Format, load_catalog, to_json};

#[derive(clap::Args)]
pub(crate) struct Args {
    /// A rule id (ecs.payg.stop-at-t15), an interpretation id
    /// (ecs.interp.top-up-settles) or a lifecycle id (ecs.payg-instance).
    pub(crate) rule: String,
    /// Print the explanation as text or as JSON.
    #[arg(long, value_enum, default_value = "text")]
    pub(crate) format: Format,
}

pub(crate) fn run(specs: Option<&Path>, args: Args) -> Result<Done, Failure> {
    let Args { rule, format } = args;
    let rule = rule.as_str();
    let catalog = load_catalog(specs)?;
    if let Some(x) = explain::interpretation(&catalog, rule) {
        let text = match format {
            Format::Text => explain::interpretation_text(&x),
            Format::Json => to_json(&x)? + "\n",
        };
        return Ok(Done::new(exit::OK, text));
    }
    if let Some(x) = explain::lifecycle(&catalog, rule) {
        let text = match format {
            Format::Text => explain::lifecycle_text(&x),
            Format::Json => to_json(&x)? + "\n",
        };
        return Ok(Done::new(exit::OK, text));
    }
    let Some(id) = catalog.rule_named(rule) else {
        let hint = catalog
            .rules
            .iter()
            .filter(|r| r.id.contains(rule) || rule.contains(r.id.as_str()))
            .map(|r| r.id.as_str())
            .take(5)
            .collect::<Vec<_>>();
        let hint = if hint.is_empty() {
            "run `arrears rules` to list them".to_string()
        } else {
            format!("did you mean {}?", hint.join(", "))
        };
        return Err(usage!(
            "failed to explain `{rule}`: no rule, interpretation or lifecycle has that id; {hint}"
        ));
    };
    let text = match format {
        Format::Text => explain::explanation_text(&catalog, id),
        Format::Json => to_json(&explain::explanation(&catalog, id))? + "\n",
    };
    Ok(Done::new(exit::OK, text))
}
