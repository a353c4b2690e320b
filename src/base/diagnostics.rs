//! Diagnostics as data: the code registry, severities, and labels that point into sources.
//!
//! Every problem a user can fix is a `Diagnostic` with a stable `Code` from the one table in
//! this file. Stages push diagnostics into a `Vec` and keep going; nothing here prints.
//! Labels name a place by JSON Pointer (key or value) so that the front end can report
//! without knowing byte positions; `crate::front::syntax::locate` turns pointers into byte ranges
//! only for the diagnostics that are actually rendered. `docs/codes.md` documents every code,
//! and a test keeps the two in step.

use std::ops::Range;

use crate::base::source::FileId;

/// How serious a diagnostic is. Errors fail `lint` and block `plan`; warnings fail only with
/// `--deny-warnings`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    Error,
    Warning,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = ($code:literal, $name:literal, $severity:ident, $title:literal), )*) => {
        /// The registry of diagnostic codes. A code is never reused or renumbered.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in registry order.
            pub const ALL: &'static [Code] = &[ $( Code::$variant, )* ];

            /// The stable identifier, e.g. `VN304`.
            pub fn as_str(self) -> &'static str {
                match self { $( Code::$variant => $code, )* }
            }

            /// The kebab-case name, e.g. `unresolved-reference`.
            pub fn name(self) -> &'static str {
                match self { $( Code::$variant => $name, )* }
            }

            /// The severity a diagnostic with this code has unless a check says otherwise.
            pub fn default_severity(self) -> Severity {
                match self { $( Code::$variant => Severity::$severity, )* }
            }

            /// A one-line description, used as the SARIF rule description.
            pub fn title(self) -> &'static str {
                match self { $( Code::$variant => $title, )* }
            }
        }
    };
}

codes! {
    // Workspace and syntax: VN1xx.
    NoSolutionFile = ("VN100", "no-solution-file", Error, "The workspace has no vnext.config.json or vnext.<domain>.config.json"),
    InvalidSolutionFile = ("VN101", "invalid-solution-file", Error, "A solution file is malformed or misses a required setting"),
    DuplicateDomain = ("VN102", "duplicate-domain", Error, "Two solution files declare the same domain"),
    UnknownDomain = ("VN103", "unknown-domain", Error, "--domain names a domain no solution file declares"),
    IoError = ("VN104", "io-error", Error, "A file or folder could not be read"),
    FileTooLarge = ("VN105", "file-too-large", Error, "A definition file is larger than the size limit"),
    NotUtf8 = ("VN106", "not-utf8", Error, "A definition file is not valid UTF-8 text"),
    SyntaxError = ("VN107", "syntax-error", Error, "A definition file is not well-formed JSON or YAML"),
    DuplicateKey = ("VN108", "duplicate-key", Error, "A mapping has the same key twice"),
    InputLimit = ("VN109", "input-limit", Error, "A file nests too deeply or expands too many aliases"),
    EmptyFile = ("VN110", "empty-file", Error, "A definition file holds no document"),
    MissingFolder = ("VN111", "missing-folder", Error, "A folder named by a solution file does not exist"),
    InvalidDomainName = ("VN112", "invalid-domain-name", Error, "A domain name is not accepted by the runtime"),
    InvalidLayout = ("VN113", "invalid-layout", Error, "A platform table layout refers to something it does not declare"),
    OutsideComponentFolders = ("VN114", "outside-component-folders", Warning, "A file named on the command line is in no component folder, so it is not linted as a component"),
    PathOutsideWorkspace = ("VN115", "path-outside-workspace", Error, "A path of the workspace, or a symbolic link in it, leads outside the workspace folder"),
    UnknownRuntimeRelease = ("VN116", "unknown-runtime-release", Error, "runtimeVersion names a runtime release whose tables and migrations vnext does not know"),
    UnusablePackage = ("VN119", "unusable-package", Error, "A package `dependencies.npm` declares cannot be read as a folder of components"),

    // Schema validation: VN2xx.
    UnknownKey = ("VN200", "unknown-key", Error, "A key the component format does not define"),
    MissingKey = ("VN201", "missing-key", Error, "A required key is missing"),
    WrongType = ("VN202", "wrong-type", Error, "A value has the wrong JSON type"),
    InvalidValue = ("VN203", "invalid-value", Error, "A value is outside the allowed set, range or pattern"),
    SchemaViolation = ("VN204", "schema-violation", Error, "A component breaks a rule of its JSON Schema"),
    InvalidComponentKey = ("VN205", "invalid-component-key", Error, "A component key is not lowercase kebab-case"),
    InvalidVersion = ("VN206", "invalid-version", Error, "A version is not semantic (MAJOR.MINOR.PATCH)"),
    UnknownComponentType = ("VN207", "unknown-component-type", Error, "The component's type cannot be told from its flow or folder"),
    NotAComponent = ("VN208", "not-a-component", Error, "A file in a component folder is not a vNext component"),
    InvalidScript = ("VN209", "invalid-script", Error, "A script slot holds no code the runtime can run"),
    RuntimeRule = ("VN210", "runtime-rule", Error, "A component breaks a rule the runtime checks when it is published"),
    ControlCharacter = ("VN211", "control-character", Error, "A tag holds the NUL character or another control character"),

    // Components and references: VN30x.
    DomainMismatch = ("VN300", "domain-mismatch", Error, "A component's domain differs from its solution file's"),
    FlowFolderMismatch = ("VN301", "flow-folder-mismatch", Error, "A component's flow does not match the folder it is in"),
    FileNameMismatch = ("VN302", "file-name-mismatch", Warning, "A component's file name differs from its key"),
    DuplicateComponent = ("VN303", "duplicate-component", Error, "Two files define the same component key and version"),
    UnresolvedReference = ("VN304", "unresolved-reference", Error, "A reference names a component that does not exist"),
    ReferenceTypeMismatch = ("VN305", "reference-type-mismatch", Error, "A reference points at a component of the wrong type"),
    UnresolvedVersion = ("VN306", "unresolved-version", Error, "A referenced component exists but not in the referenced version"),
    UnresolvedRefPath = ("VN307", "unresolved-ref-path", Error, "A {ref} path names no component file"),
    UnreadableTarget = ("VN308", "unreadable-target", Error, "A reference names a component whose file could not be read"),
    MisspeltDomain = ("VN309", "misspelt-domain", Error, "A reference names a domain close to the component's own or a declared one"),
    UndeclaredDomain = ("VN310", "undeclared-domain", Warning, "A reference names a domain that dependencies.domains does not declare"),

    // Workflows: VN32x.
    UnknownTargetState = ("VN320", "unknown-target-state", Error, "A transition targets a state the workflow does not declare"),
    DuplicateState = ("VN321", "duplicate-state", Error, "Two states of a workflow share a key"),
    DuplicateTransition = ("VN322", "duplicate-transition", Error, "Two transitions available in one state share a key"),
    UnreachableState = ("VN323", "unreachable-state", Warning, "No transition leads to a state"),
    MissingFinalState = ("VN324", "missing-final-state", Error, "A workflow that must finish has no final state"),
    MultipleInitialStates = ("VN325", "multiple-initial-states", Error, "A workflow declares more than one initial state"),
    StateSubProcessUnsupported = ("VN326", "state-subprocess-unsupported", Error, "A subFlow state of type P, which the runtime rejects"),
    UnknownTransition = ("VN327", "unknown-transition", Error, "An error boundary names a transition the workflow does not declare"),
    HistoryNoneViolation = ("VN328", "history-none-violation", Error, "A workflow with history none breaks one of its publish rules"),

    // Schema names: VN33x.
    InvalidSchemaName = ("VN330", "invalid-schema-name", Error, "A workflow key does not map to a usable PostgreSQL schema name"),
    SchemaNameCollision = ("VN331", "schema-name-collision", Error, "Two workflows map to the same PostgreSQL schema"),
    SchemaNameTooLong = ("VN332", "schema-name-too-long", Error, "A workflow's schema name exceeds 63 bytes"),
    ReservedSchemaName = ("VN333", "reserved-schema-name", Error, "A workflow's schema name is reserved by the platform or PostgreSQL"),

    // Attribute indexes: VN34x.
    IndexedOnNonMaster = ("VN340", "indexed-on-non-master", Error, "x-indexed on a schema whose type is not master"),
    IndexedFieldIneligible = ("VN341", "indexed-field-ineligible", Error, "x-indexed on a field that cannot be indexed"),
    IndexedTypeConflict = ("VN342", "indexed-type-conflict", Error, "Versions of a master schema index one field with different types"),

    // Tasks: VN35x.
    DeprecatedTaskType = ("VN350", "deprecated-task-type", Warning, "A task uses a deprecated task type"),
    ExperimentalTaskType = ("VN351", "experimental-task-type", Warning, "A task uses an experimental task type"),
    UnresolvedWorkflowCall = ("VN352", "unresolved-workflow-call", Warning, "A task calls a workflow of its own domain that does not exist"),
    IgnoredSetting = ("VN353", "ignored-setting", Warning, "A setting the runtime accepts but does not read"),

    // Graph: VN4xx.
    DependencyCycle = ("VN400", "dependency-cycle", Error, "Database objects depend on each other in a cycle"),
    RewriteRefused = ("VN401", "rewrite-refused", Error, "The plan rewrites a table that may hold rows and the rewrite was not allowed"),

    // Planning: VN5xx.
    PublishedVersionChanged = ("VN500", "published-version-changed", Error, "A published component version changed its content"),
    DataLossRefused = ("VN501", "data-loss-refused", Error, "The plan drops data and the drop was not allowed"),
    GeneratedTampered = ("VN502", "generated-tampered", Error, "generated/ does not match its vnext.sum"),
    GeneratedStale = ("VN503", "generated-stale", Error, "generated/ is behind the definitions"),
    InvalidState = ("VN504", "invalid-state", Error, "generated/<domain>/state.json cannot be read"),
    ComponentRemoved = ("VN505", "component-removed", Warning, "A published component was removed from the definitions"),
    UnstorableContent = ("VN506", "unstorable-content", Error, "A component holds a value PostgreSQL cannot store"),
    GitConflict = ("VN507", "git-conflict", Error, "generated/<domain>/ holds git conflict markers: two branches each added a migration"),
    RehashRefused = ("VN508", "rehash-refused", Error, "plan --rehash would record an edited migration that a database already applied"),
    Rehashed = ("VN509", "rehashed", Warning, "plan --rehash rewrote vnext.sum for edited migrations"),
    GeneratedBehindDatabase = ("VN510", "generated-behind-database", Error, "generated/ lacks migrations the database applied, or holds others in their place"),
    StateDisagrees = ("VN511", "state-disagrees", Error, "generated/<domain>/state.json is not the state the database recorded for the same migration"),
    RebaseRefused = ("VN512", "rebase-refused", Error, "plan --rebase cannot tell which migrations to plan again"),
    PlatformCopyUnknown = ("VN513", "platform-copy-unknown", Error, "generated/platform/ holds a platform migration this vnext does not carry"),
    PlatformCopyEdited = ("VN514", "platform-copy-edited", Error, "generated/platform/ holds a platform migration whose text differs from the one vnext carries"),
    PlatformReleaseMixed = ("VN515", "platform-release-mixed", Error, "Domains that share one generated/platform/ name different runtime releases"),
    PlatformCopyForeignLayout = ("VN516", "platform-copy-foreign-layout", Error, "generated/platform/state.json records platform layouts this vnext does not carry"),

    // Applying to a database: VN6xx.
    ConnectionFailed = ("VN600", "connection-failed", Error, "vnext could not connect to the database"),
    MigrationLockBusy = ("VN601", "migration-lock-busy", Error, "Another apply held the database's migration lock for longer than --lock-wait"),
    HistoryMismatch = ("VN602", "history-mismatch", Error, "An applied migration differs from its file, or the history is inconsistent"),
    UnknownMigration = ("VN603", "unknown-migration", Error, "The database has applied a migration the workspace does not have"),
    DriftBlocksApply = ("VN604", "drift-blocks-apply", Error, "The live database differs from its recorded state, so apply refuses to run"),
    StatementFailed = ("VN605", "statement-failed", Error, "A migration statement failed; its transaction was rolled back"),
    ConnectionLost = ("VN606", "connection-lost", Error, "The connection to the database broke during apply"),
    LockTimeoutExhausted = ("VN607", "lock-timeout-exhausted", Error, "A step could not get its locks within lock_timeout, after every retry"),
    UnreadableMigration = ("VN608", "unreadable-migration", Error, "A migration file cannot be read or split into statements"),
    DirectDatabase = ("VN609", "direct-database", Error, "The database was changed with apply --direct, so generated/ files cannot be applied"),
    DomainRequired = ("VN611", "domain-required", Error, "The workspace has several domains and the command works on one database"),
    DatabaseError = ("VN610", "database-error", Error, "A query vnext needs for its own bookkeeping failed"),
    WaitTimedOut = ("VN612", "wait-timed-out", Error, "A query waited longer than lock_timeout or statement_timeout, so the command stopped"),
    ApplyRunning = ("VN613", "apply-running", Error, "An apply holds the database's migration lock, so the database is between two recorded states"),
    DataLossAtApply = ("VN614", "data-loss-at-apply", Error, "A pending migration would destroy rows and apply was not told to allow it"),
    PlatformTooNew = ("VN615", "platform-too-new", Error, "A migration was planned against a platform layout newer than this vnext knows"),
    ExpectedSideUnbuildable = ("VN616", "expected-side-unbuildable", Error, "drift cannot build the expected objects: the server or the role allows no writes, not even temporary ones"),
    CollationMissing = ("VN617", "collation-missing", Error, "The database lacks the ICU collation tr-TR-x-icu that the runtime's text filters and trigram indexes use"),
    WrongDomain = ("VN626", "wrong-domain", Error, "The database holds another domain's migrations"),
    OtherWorkspace = ("VN627", "other-workspace", Error, "The database's history of this domain began in another workspace"),
    OtherMigration = ("VN628", "other-migration", Error, "The database applied a different migration with the same number"),
    FileReplaced = ("VN629", "file-replaced", Error, "A migration that stopped part-way was replaced in generated/; vnext repair must record it"),
    RepairRefused = ("VN630", "repair-refused", Error, "vnext repair cannot resolve a history entry safely"),
    Rebased = ("VN631", "rebased", Warning, "plan --rebase dropped this branch's migrations to plan their changes again on top"),
    InvalidDeployConfig = ("VN640", "invalid-deploy-config", Error, "The deploy configuration (vnext.deploy.yaml) is malformed"),
    SecretInDeployConfig = ("VN641", "secret-in-deploy-config", Error, "The deploy configuration holds a connection string; it may only say where to read one"),
    UnknownEnvironment = ("VN642", "unknown-environment", Error, "apply --env names an environment the deploy configuration lacks"),
    DomainWithoutDatabase = ("VN643", "domain-without-database", Error, "A domain to apply has no database URL"),
    AdoptMatched = ("VN650", "adopt-matched", Warning, "vnext adopt: a schema or published version in the database is what the definitions want; adopted as it is"),
    AdoptLegacy = ("VN651", "adopt-legacy", Warning, "vnext adopt: an object the runtime's own migrations left that the current model lacks; left alone"),
    AdoptConflict = ("VN652", "adopt-conflict", Error, "vnext adopt: a published version's content differs from its definition; nothing is recorded"),
    AdoptUnknown = ("VN653", "adopt-unknown", Warning, "vnext adopt: a component or schema in the database that the workspace lacks"),
    AdoptDrift = ("VN654", "adopt-drift", Error, "vnext adopt: the database differs from what the definitions and runtimeVersion want; nothing is recorded"),
    AdoptNew = ("VN655", "adopt-new", Warning, "vnext adopt: something the definitions want that the database lacks; the next vnext plan writes it"),
    AdoptDone = ("VN656", "adopt-done", Warning, "vnext adopt: the database and generated/ already hold this baseline; nothing to do"),
    AdoptRefused = ("VN657", "adopt-refused", Error, "vnext adopt cannot take this database over (not runtime-built, already vnext's, or generated/ not empty)"),
    ForeignObjects = ("VN658", "foreign-objects", Error, "The database holds objects its vnext history does not explain (built by the runtime, or by hand); apply cannot run on it"),
    AdoptCleaned = ("VN659", "adopt-cleaned", Warning, "vnext adopt --allow-cleanup removed one of the runtime's own leftovers"),
    AdoptCliProjection = ("VN660", "adopt-cli-projection", Warning, "vnext adopt: a projection the runtime's CLI made (wf indexes generate) with its own cast; adopted as it made it, and drift does not report it"),
    AdoptResumed = ("VN661", "adopt-resumed", Warning, "vnext adopt: generated/ holds the baseline an earlier adopt wrote before its database commit failed; recorded now"),
    AdoptCompleted = ("VN662", "adopt-completed", Warning, "vnext adopt: a history entry that stopped part-way is recorded finished, the rest of its file having been run by hand"),
    Recovered = ("VN670", "recovered", Warning, "vnext plan finished or undid what an interrupted plan had left in generated/"),
}

/// Which part of a JSON node a label points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The key of the member at this JSON Pointer (falls back to its value for array items).
    Key(String),
    /// The value at this JSON Pointer; for an object or array, its first token.
    Value(String),
    /// A byte range already known.
    Range(Range<usize>),
    /// The start of the file, for problems with the file as a whole.
    FileStart,
}

impl Target {
    /// A sort key that orders targets by where they are written, as far as it is known
    /// without the text: pointers sort by their path, ranges by their start.
    fn sort_key(&self) -> (u8, &str, usize) {
        match self {
            Target::FileStart => (0, "", 0),
            Target::Range(range) => (1, "", range.start),
            Target::Key(pointer) | Target::Value(pointer) => (2, pointer.as_str(), 0),
        }
    }
}

impl PartialOrd for Target {
    fn partial_cmp(&self, other: &Target) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Target {
    fn cmp(&self, other: &Target) -> std::cmp::Ordering {
        self.sort_key()
            .cmp(&other.sort_key())
            .then_with(|| matches!(self, Target::Value(_)).cmp(&matches!(other, Target::Value(_))))
    }
}

/// A labelled place in a source file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Label {
    pub file: FileId,
    pub target: Target,
    pub text: Option<String>,
}

impl Label {
    pub fn key(file: FileId, pointer: impl Into<String>) -> Label {
        Label {
            file,
            target: Target::Key(pointer.into()),
            text: None,
        }
    }

    pub fn value(file: FileId, pointer: impl Into<String>) -> Label {
        Label {
            file,
            target: Target::Value(pointer.into()),
            text: None,
        }
    }

    pub fn range(file: FileId, range: Range<usize>) -> Label {
        Label {
            file,
            target: Target::Range(range),
            text: None,
        }
    }

    pub fn file(file: FileId) -> Label {
        Label {
            file,
            target: Target::FileStart,
            text: None,
        }
    }

    pub fn with_text(mut self, text: impl Into<String>) -> Label {
        self.text = Some(text.into());
        self
    }
}

/// One problem found in the user's input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    pub code: Code,
    pub severity: Severity,
    pub message: String,
    /// The first label is the primary location; the others add context.
    pub labels: Vec<Label>,
    pub help: Option<String>,
}

impl Diagnostic {
    pub fn new(code: Code, message: impl Into<String>) -> Diagnostic {
        Diagnostic {
            code,
            severity: code.default_severity(),
            message: message.into(),
            labels: Vec::new(),
            help: None,
        }
    }

    pub fn with_label(mut self, label: Label) -> Diagnostic {
        self.labels.push(label);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Diagnostic {
        self.help = Some(help.into());
        self
    }

    pub fn with_severity(mut self, severity: Severity) -> Diagnostic {
        self.severity = severity;
        self
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }

    /// The file of the primary label, if any.
    pub fn file(&self) -> Option<FileId> {
        self.labels.first().map(|label| label.file)
    }
}

/// Counts of diagnostics by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Tally {
    pub errors: usize,
    pub warnings: usize,
}

impl Tally {
    pub fn of(diagnostics: &[Diagnostic]) -> Tally {
        Tally::of_severities(diagnostics.iter().map(|d| d.severity))
    }

    pub fn of_severities(severities: impl IntoIterator<Item = Severity>) -> Tally {
        let mut tally = Tally::default();
        for severity in severities {
            match severity {
                Severity::Error => tally.errors += 1,
                Severity::Warning => tally.warnings += 1,
            }
        }
        tally
    }
}

/// Escapes one reference token of a JSON Pointer (RFC 6901).
pub fn escape_pointer_token(token: &str) -> String {
    if token.contains(['~', '/']) {
        token.replace('~', "~0").replace('/', "~1")
    } else {
        token.to_owned()
    }
}

/// Appends one token to a JSON Pointer.
pub fn pointer_join(base: &str, token: impl std::fmt::Display) -> String {
    let token = token.to_string();
    format!("{base}/{}", escape_pointer_token(&token))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;

    #[test]
    fn codes_and_names_are_unique() {
        let codes: BTreeSet<_> = Code::ALL.iter().map(|code| code.as_str()).collect();
        let names: BTreeSet<_> = Code::ALL.iter().map(|code| code.name()).collect();
        assert_eq!(codes.len(), Code::ALL.len());
        assert_eq!(names.len(), Code::ALL.len());
    }

    #[test]
    fn pointer_tokens_are_escaped() {
        assert_eq!(pointer_join("/a", "b/c~d"), "/a/b~1c~0d");
        assert_eq!(pointer_join("", 3), "/3");
    }
}
