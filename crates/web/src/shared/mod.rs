//! Pieces every feature uses: who is calling ([`session`]), the page frame and the end of a form
//! handler ([`page`]), CSRF-checked form extractors ([`forms`]), API helpers ([`api`]), and a
//! [`prelude`] of the names handlers need.

pub(crate) mod api;
pub(crate) mod forms;
pub(crate) mod page;
pub(crate) mod prelude;
pub(crate) mod session;
