//! The reference model behind the [`Implementation`] trait, so that the
//! model can be driven exactly as an implementation under test is (and so
//! that a Rust team has a working implementation of the trait to start from).
//!
//! What it is sent is checked exactly as a history file is
//! ([`crate::history::Validator`], the checks of `History::validate` one
//! event at a time): a negative or extreme amount, an unknown resource, an
//! account whose totals would leave the range the model holds, each get an
//! `error` reply naming the event and the field, and the model is left as it
//! was.

use chrono::{DateTime, Utc};

use super::{Answer, Declaration, HistoryHeader, Implementation, ProductOffer, ProtocolError};
use crate::history::{Event, Validator};
use crate::model::Model;
use crate::observation::{Observation, TraceEvent};
use crate::spec::Catalog;

pub struct ModelImplementation<'c> {
    catalog: &'c Catalog,
    model: Option<Model<'c>>,
    /// The checks of the loaded history so far.
    validator: Option<Validator<'c>>,
}

impl<'c> ModelImplementation<'c> {
    pub fn new(catalog: &'c Catalog) -> ModelImplementation<'c> {
        ModelImplementation {
            catalog,
            model: None,
            validator: None,
        }
    }

    fn model(&mut self) -> Result<&mut Model<'c>, String> {
        self.model
            .as_mut()
            .ok_or_else(|| "no history is loaded".to_string())
    }
}

impl Implementation for ModelImplementation<'_> {
    fn hello(&mut self, offer: &[ProductOffer]) -> Result<Declaration, ProtocolError> {
        Ok(Declaration::everything(
            format!("arrears reference model {}", env!("CARGO_PKG_VERSION")),
            offer,
        ))
    }

    fn load(&mut self, header: &HistoryHeader) -> Result<Answer<()>, ProtocolError> {
        self.model = None;
        self.validator = None;
        let validator = match Validator::new(
            self.catalog,
            header.start,
            &header.accounts,
            &header.resources,
        ) {
            Ok(v) => v,
            Err(e) => return Ok(Answer::Error(format!("failed to load the history: {e}"))),
        };
        Ok(match Model::new(self.catalog, &header.to_history()) {
            Ok(m) => {
                self.model = Some(m);
                self.validator = Some(validator);
                Answer::Done(())
            }
            Err(e) => Answer::Error(e.to_string()),
        })
    }

    fn apply(&mut self, _at: DateTime<Utc>, event: &Event) -> Result<Answer<()>, ProtocolError> {
        let Some(validator) = self.validator.as_mut() else {
            return Ok(Answer::Error("no history is loaded".to_string()));
        };
        if let Err(e) = validator.event(event) {
            return Ok(Answer::Error(format!("failed to apply the event: {e}")));
        }
        Ok(
            match self
                .model()
                .map(|m| m.apply(event).map_err(|e| e.to_string()))
            {
                Ok(Ok(())) => Answer::Done(()),
                Ok(Err(e)) | Err(e) => Answer::Error(e),
            },
        )
    }

    fn advance(&mut self, to: DateTime<Utc>) -> Result<Answer<()>, ProtocolError> {
        Ok(
            match self
                .model()
                .map(|m| m.advance_to(to).map_err(|e| e.to_string()))
            {
                Ok(Ok(())) => Answer::Done(()),
                Ok(Err(e)) | Err(e) => Answer::Error(e),
            },
        )
    }

    fn observe(&mut self) -> Result<Answer<(Observation, Vec<TraceEvent>)>, ProtocolError> {
        Ok(match self.model() {
            Ok(m) => Answer::Done((m.observe(), m.take_events())),
            Err(e) => Answer::Error(e),
        })
    }
}
