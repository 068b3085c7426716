//! test clamd (stub)
