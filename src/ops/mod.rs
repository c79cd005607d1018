//! Operating corekv as a service: the systemd notify protocol ([`sd_notify`]) and the host
//! checks made at startup ([`host`]).

pub mod host;
pub mod sd_notify;
