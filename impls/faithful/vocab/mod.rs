//! The shared vocabulary of the engine: products, the lifecycle each kind
//! of resource follows, states, transitions, and what a product's state
//! machine answers. The ids are the specs' ids, because the conformance
//! suite reads observations in that vocabulary; the behaviour behind them
//! lives in the product modules (`products/*.rs`).

mod lifecycle;
mod machine;
mod product;
mod state;

pub use lifecycle::{ChargeKind, Lc};
pub use machine::{Ctx, Effect, Formula, OpAnswer, Signal, Timed, Tr, tr};
pub use product::{AVAILABLE_CREDIT_RULE, Billing, CREDIT_ALERT, FEE_PRODUCTS, Product, Shortfall};
pub use state::{St, Traits, gone, traits};
