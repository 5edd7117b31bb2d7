//! The checks across elements, run once everything is compiled: exactly one
//! ledger, and every parameter and notification used.

use super::*;

impl<'a> Compiler<'a> {
    pub(super) fn check_ledger(&mut self) {
        if self.ledger.is_none() {
            let at = At {
                file: 0,
                name: self.files[0].0,
            };
            self.error(
                at,
                Position { line: 1, column: 1 },
                "ledger",
                "no spec file defines the ledger; exactly one must",
            );
        }
    }

    pub(super) fn check_usage(&mut self) {
        let mut counter = 0;
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for p in &file.parameters {
                if !self.param_used[counter] {
                    self.error_at(
                        at,
                        &p.id,
                        &format!("parameter {}", p.id.value),
                        format!("parameter `{}` is never used", p.id.value),
                    );
                }
                counter += 1;
            }
        }
        let mut counter = 0;
        for (index, (name, file)) in self.files.iter().enumerate() {
            let at = At { file: index, name };
            for n in &file.notifications {
                if !self.notification_used[counter] {
                    self.error_at(
                        at,
                        &n.id,
                        &format!("notification {}", n.id.value),
                        "no transition sends this notification",
                    );
                }
                counter += 1;
            }
        }
    }
}
