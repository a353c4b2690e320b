//! Deployment, without a server: the `generated/<domain>/` folder (`migrations`, and what an
//! interrupted plan left in it, `interrupted`), what a
//! database's history says must run (`reconcile`), and how described schemas differ (`drift`).
//! `pg` does the talking to the server.

pub(crate) mod drift;
pub mod interrupted;
pub mod migrations;
pub(crate) mod reconcile;
