//! Reading .xlsx and .csv sheets into rows of cells.
