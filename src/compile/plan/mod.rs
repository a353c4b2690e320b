//! A plan: the changes of a diff, classified by hazard (`hazards`), put in an order that applies
//! safely (`steps`), and described in words (`summary`).

mod hazards;
mod steps;
mod summary;

pub(crate) use hazards::{allows, allows_rewrite, drop_object, hazards, rewrite_object};
pub(crate) use steps::{Cycle, IndexBookkeeping, Plan, Step, build};
pub(crate) use summary::describe_object;
