//! Cross-links between organisations and people (派驻、结对、联建 …).

mod api;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;

use crate::shared::page::period_text;
use taizhang_domain::LinkId;
use taizhang_store::Link;

/// A cross-link as listed on the links page and an organisation's page.
pub(crate) struct LinkLine {
    pub(crate) id: LinkId,
    pub(crate) kind: String,
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) via: String,
    pub(crate) period: String,
    pub(crate) open: bool,
    /// The viewer may end it (every end in their scope); the page offers no button otherwise.
    pub(crate) writable: bool,
}

pub(crate) fn link_lines(links: &[Link]) -> Vec<LinkLine> {
    links
        .iter()
        .map(|l| LinkLine {
            id: l.id,
            kind: l.kind_label.clone(),
            from: l
                .from_person
                .as_ref()
                .map(|p| p.name.clone())
                .or_else(|| l.from_org.as_ref().map(|o| o.name.clone()))
                .unwrap_or_default(),
            to: l.to_org.name.clone(),
            via: match (&l.via_org, l.role) {
                (Some(v), _) => v.name.clone(),
                (None, Some(role)) => role.label_cn().into(),
                (None, None) => String::new(),
            },
            period: period_text(l.valid_from, l.valid_to),
            open: l.valid_to.is_none(),
            writable: l.writable,
        })
        .collect()
}
