//! Parameters and operations: each parameter's value read for its unit,
//! each operation declared once per document.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn compile_parameters(&mut self) {
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for p in &file.parameters {
                self.compile_parameter(at, index, p);
            }
        }
        self.check_parameter_interpretations();
    }

    /// One parameter: its value read for its unit (a `choice` with its
    /// options), where it comes from, and its entry in the catalog.
    fn compile_parameter(&mut self, at: At<'a>, index: usize, p: &raw::Parameter) {
        let element = format!("parameter {}", p.id.value);
        let unit = p.unit.value;
        let options: Vec<String> = p.options.iter().map(|o| o.value.clone()).collect();
        if unit == raw::Unit::Choice && options.is_empty() {
            self.error_at(
                at,
                &p.unit,
                &element,
                "a `choice` parameter must list its options",
            );
        }
        if unit != raw::Unit::Choice && !options.is_empty() {
            self.error_at(
                at,
                &p.options[0],
                &element,
                "only a `choice` parameter has options",
            );
        }
        let value = match parse_value(unit, &options, &p.value.value) {
            Ok(v) => v,
            Err(msg) => {
                self.error_at(at, &p.value, &element, msg);
                ParamValue::Count(0)
            }
        };
        self.check_parameter_source(at, p, &element);
        if let Some(anchor) = &p.anchor {
            self.check_anchor(at, anchor, &element);
        }
        self.parameters.push(Parameter {
            id: p.id.value.clone(),
            doc: DocId(index as u32),
            value,
            unit: unit.name().to_string(),
            meaning: p.meaning.value.clone(),
            section: p.section.as_ref().map(|s| s.value.clone()),
            anchor: p.anchor.as_ref().map(|s| s.value.clone()),
            interpretation: p.interpretation.as_ref().map(|s| s.value.clone()),
        });
        self.param_used.push(false);
        self.param_units.push(unit);
        self.param_options.push(options);
    }

    /// A parameter comes either from the document (section and anchor) or
    /// from an interpretation.
    fn check_parameter_source(&mut self, at: At<'a>, p: &raw::Parameter, element: &str) {
        match (&p.section, &p.anchor, &p.interpretation) {
            (Some(section), Some(_), None) => self.check_section(at, section, element),
            (None, None, Some(_)) => {}
            (_, _, Some(i)) if p.section.is_some() || p.anchor.is_some() => self.error_at(
                at,
                i,
                element,
                "a parameter comes either from the document (section and anchor) or from an interpretation, not both",
            ),
            _ => self.error_at(
                at,
                &p.id,
                element,
                "a parameter needs a section and an anchor in the document, or the interpretation that chose it",
            ),
        }
    }

    /// Interpretation references are checked once interpretations exist.
    fn check_parameter_interpretations(&mut self) {
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for p in &file.parameters {
                if let Some(i) = &p.interpretation {
                    let element = format!("parameter {}", p.id.value);
                    if !matches!(self.ids.get(&i.value), Some(Item::Interpretation(_))) {
                        self.error_at(
                            at,
                            i,
                            &element,
                            format!("unknown interpretation `{}`", i.value),
                        );
                    }
                }
            }
        }
    }

    pub(super) fn compile_operations(&mut self) {
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for op in &file.operations {
                let element = format!("operation {}", op.id.value);
                if !is_local_id(&op.id.value) {
                    self.error_at(
                        at,
                        &op.id,
                        &element,
                        format!(
                            "operation id `{}` must be lowercase letters, digits and dashes",
                            op.id.value
                        ),
                    );
                    continue;
                }
                let id = match self.operation_names.iter().position(|n| *n == op.id.value) {
                    Some(i) => OpId(i as u32),
                    None => {
                        self.operation_names.push(op.id.value.clone());
                        OpId(self.operation_names.len() as u32 - 1)
                    }
                };
                let decl = OperationDecl {
                    meaning: op.meaning.value.clone(),
                    fee_incurring: op.fee_incurring,
                };
                if self.documents[index].operations.insert(id, decl).is_some() {
                    self.error_at(
                        at,
                        &op.id,
                        &element,
                        format!("operation `{}` is declared twice", op.id.value),
                    );
                }
            }
        }
    }

    // ----- rules ---------------------------------------------------------------
}
