//! The lab harness: runs a scenario's steps on a backend, records what a learner would
//! see, and redacts it so that one snapshot holds on every backend.
//!
//! This first slice holds the redaction set (`redact`); the `Backend` trait, the runner
//! and transcripts follow. The harness knows no backend.

pub mod redact;
