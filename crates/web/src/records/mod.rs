//! Ledger records and their attachments.

mod api;
mod forms;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::{china_time, page_routes};

use serde_json::Value;
use taizhang_domain::RecordId;
use taizhang_store::Record;

/// A record as listed on the home, organisation, person and records pages.
pub(crate) struct RecordLine {
    pub(crate) id: RecordId,
    pub(crate) date: String,
    pub(crate) type_name: String,
    pub(crate) org_ref: String,
    pub(crate) org_name: String,
    pub(crate) summary: String,
    pub(crate) people: usize,
}

pub(crate) fn record_lines(recs: &[Record]) -> Vec<RecordLine> {
    recs.iter()
        .map(|r| {
            let summary = r
                .fields
                .as_object()
                .map(|m| {
                    m.values()
                        .filter_map(|v| match v {
                            Value::String(s) if s.chars().count() < 40 && s.len() != 64 => {
                                Some(s.clone())
                            }
                            _ => None,
                        })
                        .take(2)
                        .collect::<Vec<_>>()
                        .join(" · ")
                })
                .unwrap_or_default();
            RecordLine {
                id: r.id,
                date: r.occurred_on.to_string(),
                type_name: r.ledger_type_name.clone(),
                org_ref: r.org.org_ref.clone(),
                org_name: r.org.name.clone(),
                summary,
                people: r.people.len(),
            }
        })
        .collect()
}
