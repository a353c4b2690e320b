//! The promises of `docs/safety.md`, one file per class of attack: secrets never printed
//! (`secrets`), numbers at the command line checked (`numbers`), every wait bounded
//! (`bounded_waits`), `plan` recovering from its own interrupted writes (`plan_atomic`) and
//! apply from its failed index builds (`leftovers`), text that reaches SQL (`text`), paths that
//! leave the workspace (`containment`), data loss shown and refused at apply time
//! (`data_loss`), a database described truthfully (`truth`, `read_only`; never from a stale remembered expected side, `drift_cache`, nor a schema skipped that changed, `drift_settled`), and vnext 0.1's
//! numeric cast that no value may fail (`legacy_numeric`). Each test fails without the fix it guards, most by injecting the fault.

mod bounded_waits;
mod containment;
mod data_loss;
mod drift_cache;
mod drift_settled;
mod leftovers;
mod legacy_numeric;
mod numbers;
mod plan_atomic;
mod read_only;
mod secrets;
mod text;
mod truth;
