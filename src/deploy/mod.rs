//! Deployment, without a server: the `generated/<domain>/` folder (`migrations`, and what an
//! interrupted plan left in it, `interrupted`), what a
//! database's history says must run (`reconcile`), and how described schemas differ (`drift`).
//! `config` is the deploy configuration (`vnext.deploy.yaml`): environments and where each
//! domain's URL is read from. `pg` does the talking to the server.

pub mod config;
pub(crate) mod drift;
pub mod interrupted;
pub mod migrations;
pub(crate) mod reconcile;
