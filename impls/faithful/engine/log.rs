//! Writing the trace: notifications (the overdue reminder, the credit
//! alert) and the outcome of each user operation, logged in the order they
//! happen.

use arrears::observation::TraceEvent;

use super::{Engine, Refusal};
use crate::vocab::{CREDIT_ALERT, Product};

impl Engine {
    pub(super) fn notify(&mut self, account: usize, resource: Option<usize>, note: (&str, &str)) {
        self.log.push(TraceEvent::Notification {
            at: self.now,
            account: self.accounts[account].id.as_str().into(),
            resource: resource.map(|r| self.resources[r].id.as_str().into()),
            notification: note.0.into(),
            rule: note.1.into(),
        });
    }

    /// The credit alert is looked at once per ledger action (a deduction, a
    /// top-up with the bills it settles, a payment...), on the credit the
    /// action leaves: a top-up that pays bills and ends below the threshold
    /// it started below is no new fall.
    /// The reminder that a bill of `resource` fell overdue: for that
    /// resource, or, for ECS read the `account` way
    /// (ecs.interp.overdue-notice), once to the account when this is its
    /// only overdue ECS bill (the first of its overdue episode).
    pub(super) fn overdue_notice(&mut self, account: usize, resource: usize, product: Product) {
        let Some(note) = product.overdue_notification() else {
            return;
        };
        if product == Product::Ecs && self.readings.ecs_overdue_notice_per_account {
            let overdue_ecs = self
                .bills
                .iter()
                .filter(|b| {
                    b.account == account
                        && b.is_overdue()
                        && self.resources[b.resource].lc.product() == Product::Ecs
                })
                .count();
            if overdue_ecs == 1 {
                self.notify(account, None, note);
            }
            return;
        }
        self.notify(account, Some(resource), note);
    }

    pub(super) fn check_credit_alert(&mut self, account: usize) {
        if self.accounts[account].credit_alert_due() {
            self.notify(account, None, CREDIT_ALERT);
        }
    }

    pub(super) fn log_operation(
        &mut self,
        r_account: usize,
        resource: &str,
        op: &str,
        refusal: Option<Refusal>,
    ) {
        let (allowed, rule, reason) = match refusal {
            None => (true, None, None),
            Some(f) => (false, f.rule, Some(f.reason)),
        };
        // A locked MaxCompute instance answers a task with "ODPS-0420095:
        // Access Denied - Authorization Failed [4093] ... Access Mode is
        // AllDenied".
        let error_code = (rule == Some(crate::products::maxcompute::ACCESS_DENIED))
            .then(|| crate::products::maxcompute::ACCESS_DENIED_CODE.to_string());
        self.log.push(TraceEvent::Operation {
            at: self.now,
            account: self.accounts[r_account].id.as_str().into(),
            resource: resource.into(),
            operation: op.into(),
            allowed,
            rule: rule.map(Into::into),
            reason,
            error_code,
        });
    }
}
