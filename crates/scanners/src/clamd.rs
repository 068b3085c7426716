//! clamd protocol (stub)
