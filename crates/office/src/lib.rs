//! Spreadsheets and documents, one room per direction: `import` reads .xlsx and .csv sheets
//! into typed rows for the domain's rules to check; `export` writes lists and tables as .xlsx;
//! `document` writes bulletins as official documents (.docx in the layout of GB/T 9704-2012,
//! and their figures as .xlsx).
//! Nothing here touches the database: the store and the web layer hand rows in and take bytes out.

pub mod document;
pub mod export;
pub mod import;
