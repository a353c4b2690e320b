//! Deployment, without a server: the `generated/<domain>/` folder (`migrations`), what a
//! database's history says must run (`reconcile`), and how described schemas differ (`drift`).
//! `pg` does the talking to the server.

pub(crate) mod drift;
pub mod migrations;
pub(crate) mod reconcile;
