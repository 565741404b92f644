//! Pickers: find an organisation or a person by part of the name, its pinyin or initials, or an
//! official code, within what the caller may see — in the API, as a page that works without
//! JavaScript, and as the suggestions `picker.js` shows under every organisation field.

mod api;
mod pages;

pub(crate) use api::api_routes;
pub(crate) use pages::page_routes;
