//! The customer mix of a fleet: which products and billing methods an
//! account's resources come from, how accounts pay, how busy their owners
//! are. Read from YAML (`--mix FILE`, JSON Schema by `arrears schema mix`)
//! or the embedded default (`mixes/default.yaml`), and checked against the
//! catalog before any account is drawn, so a mix that cannot be followed
//! is an error naming the key, never a silently different fleet.

use std::collections::BTreeMap;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::spec::{BillingMethod, Catalog};

/// The embedded default mix.
pub const DEFAULT_MIX: &str = include_str!("../../mixes/default.yaml");

/// Each group of shares adds up to this.
pub const WHOLE: u32 = 100;

/// The most root resources an account may be given: a fleet models many
/// accounts, not one account with a warehouse of resources.
pub const MAX_RESOURCES_PER_ACCOUNT: u32 = 64;

/// A customer mix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Mix {
    /// Each product's share of an account's root resources (percent; the
    /// shares add up to 100), and the billing methods within it.
    pub products: BTreeMap<String, ProductMix>,
    /// How accounts pay what they owe (percent; adds up to 100).
    pub payers: PayerMix,
    /// How many root resources an account has, drawn uniformly.
    pub resources_per_account: Range,
    /// The chance, in percent, that each resource the specs allow under a
    /// resource (a disk under an instance) is attached to it.
    pub attachments: u32,
    /// The chance, in percent, that the owner asks for one operation on a
    /// resource in a given week (one that does not end it).
    pub weekly_operations: u32,
    /// The chance, in percent, that the owner ends a resource (releases
    /// it, unsubscribes) in a given week.
    pub weekly_hand_releases: u32,
}

/// One product's share and the billing methods of its root resources.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductMix {
    /// Percent of root resources.
    pub share: u32,
    /// Percent of this product's root resources under each billing method
    /// (adds up to 100).
    pub billing: BTreeMap<BillingMethod, u32>,
}

/// The payment behaviours of accounts, in percent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct PayerMix {
    /// Tops up weekly before the balance runs out, renews before expiry.
    pub on_time: u32,
    /// Lets bills go overdue and pays everything off every few weeks;
    /// renews after expiry.
    pub late: u32,
    /// Spends its opening balance and never pays again.
    pub never: u32,
}

/// An inclusive range.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Range {
    pub min: u32,
    pub max: u32,
}

/// A mix that cannot be followed, with the key it is at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{place}: {message}")]
pub struct MixError {
    /// The file and key (`mix.yaml: products.ecs.billing`), or the file's
    /// line and column for a syntax error.
    pub place: String,
    pub message: String,
}

impl Mix {
    /// The embedded default mix.
    pub fn default_mix() -> Mix {
        // The embedded file is checked by a test; a broken copy is a bug.
        crate::yaml::from_str(DEFAULT_MIX).expect("the embedded default mix is valid YAML")
    }

    /// Reads a mix from YAML text; `name` names it in errors.
    pub fn from_text(name: &str, text: &str) -> Result<Mix, MixError> {
        crate::yaml::from_str(text).map_err(|err| MixError {
            place: match err.position {
                Some(p) => format!("{name}: line {}, column {}", p.line, p.column),
                None => name.to_string(),
            },
            message: format!("failed to read the mix: {}", err.message),
        })
    }

    /// Checks that the mix can be followed with `catalog`'s lifecycles:
    /// known products, billing methods the product has root resources
    /// for, shares that add up, sensible ranges.
    pub fn check(&self, name: &str, catalog: &Catalog) -> Result<(), MixError> {
        let at = |key: &str, message: String| MixError {
            place: format!("{name}: {key}"),
            message,
        };
        let total: u64 = self.products.values().map(|p| u64::from(p.share)).sum();
        if total != u64::from(WHOLE) {
            return Err(at(
                "products",
                format!("the products' shares add up to {total}, not {WHOLE}"),
            ));
        }
        for (product, p) in &self.products {
            let Some(doc) = catalog.document_named(product) else {
                let known: Vec<&str> = catalog.documents.iter().map(|d| d.id.as_str()).collect();
                return Err(at(
                    &format!("products.{product}"),
                    format!("unknown product; the specs cover {}", known.join(", ")),
                ));
            };
            let offered: Vec<BillingMethod> = root_billing_methods(catalog, doc);
            let sum: u64 = p.billing.values().map(|s| u64::from(*s)).sum();
            if sum != u64::from(WHOLE) {
                return Err(at(
                    &format!("products.{product}.billing"),
                    format!("the billing methods' shares add up to {sum}, not {WHOLE}"),
                ));
            }
            for (method, share) in &p.billing {
                if *share > 0 && !offered.contains(method) {
                    let names: Vec<String> = offered.iter().map(|m| billing_name(*m)).collect();
                    return Err(at(
                        &format!("products.{product}.billing.{}", billing_name(*method)),
                        format!(
                            "the specs give {product} no resource of its own billed {}; it has {}",
                            billing_name(*method),
                            names.join(", ")
                        ),
                    ));
                }
            }
        }
        let payers = u64::from(self.payers.on_time)
            + u64::from(self.payers.late)
            + u64::from(self.payers.never);
        if payers != u64::from(WHOLE) {
            return Err(at(
                "payers",
                format!("the payment behaviours' shares add up to {payers}, not {WHOLE}"),
            ));
        }
        let r = self.resources_per_account;
        if r.min == 0 || r.min > r.max || r.max > MAX_RESOURCES_PER_ACCOUNT {
            return Err(at(
                "resources_per_account",
                format!(
                    "min {} and max {} must satisfy 1 <= min <= max <= {MAX_RESOURCES_PER_ACCOUNT}",
                    r.min, r.max
                ),
            ));
        }
        for (key, value) in [
            ("attachments", self.attachments),
            ("weekly_operations", self.weekly_operations),
            ("weekly_hand_releases", self.weekly_hand_releases),
        ] {
            if value > WHOLE {
                return Err(at(key, format!("{value} is a percentage over {WHOLE}")));
            }
        }
        Ok(())
    }

    /// The same mix restricted to `products` (their relative shares kept).
    pub fn only(&self, name: &str, products: &[String]) -> Result<Mix, MixError> {
        let mut mix = self.clone();
        mix.products.retain(|p, _| products.contains(p));
        for p in products {
            if !self.products.contains_key(p) {
                return Err(MixError {
                    place: format!("{name}: products"),
                    message: format!("--products names `{p}`, which the mix gives no share"),
                });
            }
        }
        if mix.products.values().all(|p| p.share == 0) {
            return Err(MixError {
                place: format!("{name}: products"),
                message: "the products --products selects all have a share of 0".to_string(),
            });
        }
        Ok(mix)
    }

    /// The mix's canonical text, for telling whether two fleet results
    /// come from the same mix.
    pub fn fingerprint(&self) -> String {
        serde_json::to_string(self).expect("a mix serializes")
    }
}

/// The billing methods of `doc`'s lifecycles without a parent.
fn root_billing_methods(catalog: &Catalog, doc: crate::spec::DocId) -> Vec<BillingMethod> {
    let mut methods: Vec<BillingMethod> = catalog
        .lifecycles
        .iter()
        .filter(|l| l.doc == doc && l.parent.is_none())
        .map(|l| l.billing)
        .collect();
    methods.sort_by_key(|m| billing_name(*m));
    methods.dedup();
    methods
}

/// A billing method as the specs write it.
pub fn billing_name(method: BillingMethod) -> String {
    serde_json::to_value(method)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// The JSON Schema of mix files.
pub fn json_schema() -> schemars::Schema {
    crate::schema::of_input::<Mix>()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        crate::spec::compile(&crate::spec::sources::embedded()).unwrap()
    }

    #[test]
    fn the_default_mix_follows_the_specs() {
        Mix::default_mix().check("default", &catalog()).unwrap();
    }

    fn broken(edit: impl Fn(&mut Mix)) -> MixError {
        let mut mix = Mix::default_mix();
        edit(&mut mix);
        mix.check("m.yaml", &catalog()).unwrap_err()
    }

    #[test]
    fn shares_that_do_not_add_up_are_named() {
        let e = broken(|m| m.payers.never = 5);
        assert_eq!(e.place, "m.yaml: payers");
        assert!(e.message.contains("add up to 95"), "{e}");
        let e = broken(|m| m.products.get_mut("ecs").unwrap().share = 41);
        assert_eq!(e.place, "m.yaml: products");
        let e = broken(|m| {
            m.products
                .get_mut("emr")
                .unwrap()
                .billing
                .insert(BillingMethod::PayAsYouGo, 10);
        });
        assert_eq!(e.place, "m.yaml: products.emr.billing");
    }

    #[test]
    fn unknown_products_and_unoffered_billing_are_named() {
        let e = broken(|m| {
            let p = m.products.remove("spark").unwrap();
            m.products.insert("gcp".into(), p);
        });
        assert_eq!(e.place, "m.yaml: products.gcp");
        assert!(e.message.contains("ecs"), "{e}");
        let e = broken(|m| {
            let b = &mut m.products.get_mut("spark").unwrap().billing;
            b.clear();
            b.insert(BillingMethod::Hybrid, 100);
        });
        assert_eq!(e.place, "m.yaml: products.spark.billing.hybrid");
    }

    #[test]
    fn ranges_are_checked() {
        assert_eq!(
            broken(|m| m.resources_per_account = Range { min: 3, max: 2 }).place,
            "m.yaml: resources_per_account"
        );
        assert_eq!(broken(|m| m.attachments = 101).place, "m.yaml: attachments");
    }

    #[test]
    fn syntax_errors_and_unknown_keys_are_located() {
        let e = Mix::from_text("m.yaml", "products: {}\npayer: {}\n").unwrap_err();
        assert!(e.place.starts_with("m.yaml: line 2"), "{e}");
        let e = Mix::from_text("m.yaml", "products: [1, 2\n").unwrap_err();
        assert!(e.place.starts_with("m.yaml"), "{e}");
    }
}
