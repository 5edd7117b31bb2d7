//! `arrears explain INTERPRETATION`: the question an ambiguous passage
//! raises, the specs' choice, and every accepted reading with what it sets.

use serde::Serialize;

use crate::spec::Catalog;

use super::{InterpretationSummary, interpretation_summary};

/// Everything `arrears explain` says about one interpretation: the
/// question, the specs' choice, and every accepted reading with what it
/// changes.
#[derive(Debug, Clone, Serialize)]
pub struct InterpretationExplanation {
    #[serde(flatten)]
    pub summary: InterpretationSummary,
    pub product: String,
    pub section: String,
    pub anchor: String,
    /// The rules whose reading it settles.
    pub rules: Vec<String>,
    /// Per reading, the parameters it sets (`param = value`).
    pub overrides: Vec<(String, Vec<String>)>,
}

/// The interpretation named `id`, if there is one.
pub fn interpretation(catalog: &Catalog, id: &str) -> Option<InterpretationExplanation> {
    let i = catalog.interpretations.iter().position(|x| x.id == id)?;
    let interp = &catalog.interpretations[i];
    Some(InterpretationExplanation {
        summary: interpretation_summary(catalog, i),
        product: catalog.document(interp.doc).id.clone(),
        section: interp.section.clone(),
        anchor: interp.anchor.clone(),
        rules: interp
            .rules
            .iter()
            .map(|r| catalog.rule(*r).id.clone())
            .collect(),
        overrides: interp
            .readings
            .iter()
            .map(|r| {
                (
                    r.id.clone(),
                    r.overrides
                        .iter()
                        .map(|(p, v)| format!("{} = {v}", catalog.parameter(*p).id))
                        .collect(),
                )
            })
            .collect(),
    })
}

pub fn interpretation_text(x: &InterpretationExplanation) -> String {
    let s = &x.summary;
    let mut out = format!("{} (interpretation, {})\n", s.id, x.product);
    out.push_str(&format!("  section:   {}\n", x.section));
    out.push_str(&format!("  anchor:    \"{}\"\n", x.anchor));
    out.push_str(&format!("  question:  {}\n", s.question));
    out.push_str(&format!("  chosen:    {} ({})\n", s.chosen, s.rationale));
    out.push_str(&format!("  accepted:  {}\n", s.window));
    out.push_str("  readings:\n");
    for (reading, (_, overrides)) in s.readings.iter().zip(&x.overrides) {
        out.push_str(&format!("    {reading}\n"));
        if !overrides.is_empty() {
            out.push_str(&format!("      sets {}\n", overrides.join(", ")));
        }
    }
    out.push_str(&format!("  rules:     {}\n", x.rules.join(", ")));
    out
}
