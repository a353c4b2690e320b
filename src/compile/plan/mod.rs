//! A plan: the changes of a diff, classified by hazard (`hazards`), put in an order that applies
//! safely (`steps`), and described in words (`summary`).

mod hazards;
mod steps;
mod summary;

pub use hazards::{Hazard, HazardNote, allows, drop_object, hazards};
pub use steps::{Cycle, IndexBookkeeping, Plan, Step, build};
pub use summary::{Summary, describe_object, slug, summarize};
