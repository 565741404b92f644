//! Pieces every feature uses: who is calling ([`session`]), the page frame and the end of a form
//! handler ([`page`]), error pages in that frame ([`error_page`]), CSRF-checked form extractors ([`forms`]), API helpers ([`api`]), the bounds
//! on what one request may cost ([`load`]), and a [`prelude`] of the names handlers need.

pub(crate) mod api;
pub(crate) mod assets;
pub(crate) mod error_page;
pub(crate) mod forms;
pub(crate) mod load;
pub(crate) mod page;
pub(crate) mod prelude;
pub(crate) mod session;
