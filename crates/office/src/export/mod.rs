//! Writing lists and tables as .xlsx workbooks.
