//! Deployment, without a server: the `generated/<domain>/` folder (`migrations`, the checksums of its
//! committed files remembered by stamp, `checksums`, what an interrupted plan left in it,
//! `interrupted`, and what branches and merges do to it,
//! `branches`), what a database's history says must run (`reconcile`, of the `sources` and
//! history rows), whose migrations a history holds (`identity`), and how described schemas
//! differ (`drift`) and the expected descriptions drift remembers (`drift_cache`), and what
//! `vnext adopt` makes of a database the runtime built (`adopt`, the runtime's own `leftovers`
//! it recognises, and the projections its CLI made, `cli_projections`); `git` runs git for
//! branches and reviews. `config` is the deploy configuration (`vnext.deploy.yaml`): environments
//! and where each domain's URL is read from. `pg` does the talking to the server.

pub mod adopt;
pub(crate) mod branches;
pub mod checksums;
pub(crate) mod cli_projections;
pub mod config;
pub(crate) mod drift;
pub mod drift_cache;
pub(crate) mod git;
pub(crate) mod identity;
pub mod interrupted;
pub mod leftovers;
pub mod migrations;
pub(crate) mod platform_copy;
pub(crate) mod reconcile;
pub mod sources;
