//! command engines (stub)
