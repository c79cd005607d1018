//! Operating corekv as a service: the systemd notify protocol ([`sd_notify`]).

pub mod sd_notify;
