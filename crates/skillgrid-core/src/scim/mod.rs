//! SCIM 2.0's rules, free of I/O: filters and attribute paths ([`filter`]), and PATCH
//! operations applied to a User's representation ([`patch`]). The server maps Users onto
//! agents; what a filter or a PATCH means is decided here.

pub mod filter;
pub mod patch;
pub mod projection;
