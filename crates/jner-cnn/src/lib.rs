//! The cnn backend.
