//! The one scorer of jner.
