//! The `hedger` application: configuration, thread wiring and the pipeline agents.
