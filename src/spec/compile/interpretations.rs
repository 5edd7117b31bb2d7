//! Interpretations of ambiguous sentences: the chosen reading and the
//! accepted others, each a set of parameter overrides checked as the
//! parameters' own values are.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn compile_interpretations(&mut self, at: At, doc: DocId, file: &raw::SpecFile) {
        for i in &file.interpretations {
            let element = format!("interpretation {}", i.id.value);
            let id = InterpretationId(self.interpretations.len() as u32);
            self.check_section(at, &i.section, &element);
            self.check_anchor(at, &i.anchor, &element);
            let mut readings = Vec::new();
            let mut reading_ids = BTreeSet::new();
            for r in &i.readings {
                if !reading_ids.insert(r.id.value.clone()) {
                    self.error_at(
                        at,
                        &r.id,
                        &element,
                        format!("reading `{}` is declared twice", r.id.value),
                    );
                }
                let is_chosen = r.id.value == i.chosen.value;
                if is_chosen && !r.overrides.is_empty() {
                    self.error_at(at, &r.overrides[0].param, &element, "the chosen reading takes the parameters' own values; it cannot override them");
                }
                if !is_chosen && r.overrides.is_empty() {
                    self.error_at(at, &r.id, &element, format!("reading `{}` changes no parameter, so the checks cannot accept it; describe it in `window` instead", r.id.value));
                }
                let overrides = self.compile_overrides(at, r, &element);
                readings.push(ReadingDef {
                    id: r.id.value.clone(),
                    meaning: r.meaning.value.clone(),
                    overrides,
                });
            }
            if !reading_ids.contains(&i.chosen.value) {
                self.error_at(
                    at,
                    &i.chosen,
                    &element,
                    format!(
                        "chosen reading `{}` is not one of the readings",
                        i.chosen.value
                    ),
                );
            }
            let rules: Vec<RuleId> = i
                .rules
                .iter()
                .filter_map(|r| self.resolve_rule(at, r, &element, None))
                .collect();
            for r in &rules {
                self.rules[r.index()].interpretations.push(id);
            }
            self.interpretations.push(InterpretationDef {
                id: i.id.value.clone(),
                doc,
                section: i.section.value.clone(),
                anchor: i.anchor.value.clone(),
                question: i.question.value.clone(),
                chosen: i.chosen.value.clone(),
                rationale: i.rationale.value.clone(),
                window: i.window.value.clone(),
                readings,
                rules,
            });
        }
    }

    /// A reading's parameter overrides, each a value the parameter could
    /// take and not its own. Overrides do not count as uses of the
    /// parameter.
    fn compile_overrides(
        &mut self,
        at: At,
        r: &raw::Reading,
        element: &str,
    ) -> Vec<(ParamId, ParamValue)> {
        let mut overrides = Vec::new();
        for o in &r.overrides {
            let Some(Item::Parameter(p)) = self.ids.get(&o.param.value).copied() else {
                self.error_at(
                    at,
                    &o.param,
                    element,
                    format!("unknown parameter `{}`", o.param.value),
                );
                continue;
            };
            match parse_value(
                self.param_units[p.index()],
                &self.param_options[p.index()],
                &o.value.value,
            ) {
                Ok(v) if v == self.parameters[p.index()].value => self.error_at(
                    at,
                    &o.value,
                    element,
                    "the override repeats the parameter's own value",
                ),
                Ok(v) => overrides.push((p, v)),
                Err(msg) => self.error_at(at, &o.value, element, msg),
            }
        }
        overrides
    }

    /// Runs every value check again under each reading that overrides one
    /// of its parameters (one reading at a time, the others at their chosen
    /// values, as `Catalog::with_reading` applies them), reporting at the
    /// override a problem the parameters' own values do not have.
    pub(super) fn check_readings(&mut self) {
        let own: Vec<ParamValue> = self.parameters.iter().map(|p| p.value.clone()).collect();
        let mut found = Vec::new();
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for i in &file.interpretations {
                for r in i.readings.iter().filter(|r| r.id.value != i.chosen.value) {
                    let mut values = own.clone();
                    let mut overridden: Vec<(ParamId, Position)> = Vec::new();
                    for o in &r.overrides {
                        let Some(Item::Parameter(p)) = self.ids.get(&o.param.value).copied() else {
                            continue;
                        };
                        let unit = self.param_units[p.index()];
                        let options = &self.param_options[p.index()];
                        if let Ok(v) = parse_value(unit, options, &o.value.value) {
                            values[p.index()] = v;
                            overridden.push((p, position_of(&o.value)));
                        }
                    }
                    for check in &self.value_checks {
                        let Some(position) = overridden
                            .iter()
                            .find(|(p, _)| check.params().contains(p))
                            .map(|(_, pos)| *pos)
                        else {
                            continue;
                        };
                        if check.problem(&own, &self.parameters).is_some() {
                            continue; // reported where the value is used
                        }
                        if let Some(problem) = check.problem(&values, &self.parameters) {
                            let used = check.used();
                            found.push((
                                at,
                                position,
                                format!("interpretation {}", i.id.value),
                                format!(
                                    "with reading `{}`, {problem} (for {} at {}:{})",
                                    r.id.value,
                                    used.element,
                                    self.files[used.file].0,
                                    used.position
                                ),
                            ));
                        }
                    }
                }
            }
        }
        for (at, position, element, message) in found {
            self.error(at, position, &element, message);
        }
    }
}
