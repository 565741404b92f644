//! Spreadsheets and documents, one room per direction: `import` reads .xlsx and .csv sheets
//! into typed rows for the domain's rules to check; `export` writes lists and tables as .xlsx.
//! Nothing here touches the database: the store and the web layer hand rows in and take bytes out.

pub mod export;
pub mod import;
