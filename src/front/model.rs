//! The typed model of vNext components, as far as `vnext` needs to reason about them.
//!
//! A component keeps its envelope (key, version, domain, ...), the references it makes, and a
//! typed body for the kinds whose structure matters to checks and to the database: workflows
//! (states and transitions), tasks (type, calls into workflows) and schemas (indexed fields).
//! Everything else about a component is carried as its canonical `attributes` JSON, which is
//! what the runtime stores. Fields are `Option` where a broken file may lack them: extraction
//! never fails, and checks skip what is missing (the schema validator has already said so).

use std::fmt;

use crate::base::source::FileId;

/// The seven component types.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Kind {
    Workflow,
    Task,
    View,
    Function,
    Extension,
    Schema,
    Mapping,
}

impl Kind {
    pub const ALL: [Kind; 7] = [
        Kind::Workflow,
        Kind::Task,
        Kind::View,
        Kind::Function,
        Kind::Extension,
        Kind::Schema,
        Kind::Mapping,
    ];

    /// The system flow a component of this kind is stored under, e.g. `sys-tasks`.
    pub fn flow(self) -> &'static str {
        match self {
            Kind::Workflow => "sys-flows",
            Kind::Task => "sys-tasks",
            Kind::View => "sys-views",
            Kind::Function => "sys-functions",
            Kind::Extension => "sys-extensions",
            Kind::Schema => "sys-schemas",
            Kind::Mapping => "sys-mappings",
        }
    }

    pub fn from_flow(flow: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|kind| kind.flow() == flow)
    }

    /// The PostgreSQL schema that stores components of this kind, e.g. `sys_tasks`.
    pub fn system_schema(self) -> &'static str {
        match self {
            Kind::Workflow => "sys_flows",
            Kind::Task => "sys_tasks",
            Kind::View => "sys_views",
            Kind::Function => "sys_functions",
            Kind::Extension => "sys_extensions",
            Kind::Schema => "sys_schemas",
            Kind::Mapping => "sys_mappings",
        }
    }

    /// The key of this kind's folder in a solution file's `paths`.
    pub fn paths_key(self) -> &'static str {
        match self {
            Kind::Workflow => "workflows",
            Kind::Task => "tasks",
            Kind::View => "views",
            Kind::Function => "functions",
            Kind::Extension => "extensions",
            Kind::Schema => "schemas",
            Kind::Mapping => "mappings",
        }
    }

    /// The folder name used when the solution file does not name one.
    pub fn default_folder(self) -> &'static str {
        match self {
            Kind::Workflow => "Workflows",
            Kind::Task => "Tasks",
            Kind::View => "Views",
            Kind::Function => "Functions",
            Kind::Extension => "Extensions",
            Kind::Schema => "Schemas",
            Kind::Mapping => "Mappings",
        }
    }

    /// The word users know the kind by.
    pub fn noun(self) -> &'static str {
        match self {
            Kind::Workflow => "workflow",
            Kind::Task => "task",
            Kind::View => "view",
            Kind::Function => "function",
            Kind::Extension => "extension",
            Kind::Schema => "schema",
            Kind::Mapping => "mapping",
        }
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.noun())
    }
}

/// Index of a component in its `ComponentSet`.
pub(crate) type ComponentId = usize;

/// A short text of a definition (a key, domain, version or flow), held inline when it has at
/// most 24 bytes, as nearly all do: a large domain's cached models hold millions of them, and
/// one allocation each was most of what reading the cache cost (at 10,000 workflows, 1.3
/// million in references alone).
pub(crate) type Name = compact_str::CompactString;

/// What a reference points at.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum RefTarget {
    /// `{key, domain, version, flow}`.
    Explicit {
        key: Name,
        domain: Name,
        version: Name,
        flow: Name,
    },
    /// `{ref: "<path>"}`, relative to the components root or an npm package path.
    Path(String),
}

/// One reference made by a component.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Reference {
    /// JSON Pointer of the reference object in the component's file.
    pub pointer: String,
    pub target: RefTarget,
    /// The kind the slot holding the reference requires, when the slot says.
    pub slot_kind: Option<Kind>,
}

/// A transition as far as checks need it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Transition {
    pub pointer: String,
    pub key: Option<Name>,
    pub target: Option<Name>,
    pub trigger_type: Option<i64>,
}

/// The workflow a subflow state runs.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SubFlow {
    /// `S` (blocking subflow) or `P` (subprocess).
    pub subflow_type: Option<String>,
    /// Index into the component's references of `subFlow.process`.
    pub process: Option<usize>,
}

/// A state as far as checks need it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct State {
    pub pointer: String,
    pub key: Option<Name>,
    /// 1 initial, 2 intermediate, 3 final, 4 subflow, 5 wizard.
    pub state_type: Option<i64>,
    /// 0 none, 1 success, 2 error, 3 terminated, 4 suspended, 5 busy, 6 human, 7 cancelled,
    /// 8 timeout.
    pub sub_type: Option<i64>,
    pub transitions: Vec<Transition>,
    pub subflow: Option<SubFlow>,
    /// Indexes into the component's references of the state's views.
    pub views: Vec<usize>,
    pub has_error_boundary: bool,
}

/// Where a shared transition is offered.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Availability {
    /// Null, absent or empty `availableIn`: every state.
    Everywhere,
    /// The listed state keys, each with the pointer of its entry.
    States(Vec<(String, String)>),
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SharedTransition {
    pub transition: Transition,
    pub available_in: Availability,
}

/// The four workflow types.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum WorkflowType {
    Core,
    Flow,
    SubFlow,
    SubProcess,
}

impl WorkflowType {
    pub fn from_code(code: &str) -> Option<WorkflowType> {
        match code {
            "C" => Some(WorkflowType::Core),
            "F" => Some(WorkflowType::Flow),
            "S" => Some(WorkflowType::SubFlow),
            "P" => Some(WorkflowType::SubProcess),
            _ => None,
        }
    }

    pub fn code(self) -> &'static str {
        match self {
            WorkflowType::Core => "C",
            WorkflowType::Flow => "F",
            WorkflowType::SubFlow => "S",
            WorkflowType::SubProcess => "P",
        }
    }
}

/// The typed parts of a workflow. All but `master_schema` are read by the workflow's own
/// checks only, and are let go once they ran (`Component::let_go_of_structure`).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Workflow {
    pub workflow_type: Option<WorkflowType>,
    pub history: Option<String>,
    pub start: Option<Transition>,
    pub states: Vec<State>,
    pub shared: Vec<SharedTransition>,
    /// `cancel`, `exit` and `updateData`, when present.
    pub special: Vec<SharedTransition>,
    pub timeout: Option<Transition>,
    /// Index into the component's references of `attributes.schema`.
    pub master_schema: Option<usize>,
    /// Indexes into the component's references of `functions`, `extensions` and `features`.
    pub functions: Vec<usize>,
    pub extensions: Vec<usize>,
    /// Indexes into the component's references of every view the workflow shows.
    pub views: Vec<usize>,
    pub has_error_boundary: bool,
    /// `(pointer, transition key)` of every error-boundary rule that names a transition.
    pub boundary_transitions: Vec<(String, String)>,
    pub has_shared_or_special: bool,
    pub has_timeout: bool,
}

/// How an indexed attribute is stored and compared in PostgreSQL.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Storage {
    Text,
    Numeric,
    Timestamptz,
}

impl Storage {
    pub const ALL: [Storage; 3] = [Storage::Text, Storage::Numeric, Storage::Timestamptz];

    /// The storage `as_str` names.
    pub fn parse(text: &str) -> Option<Storage> {
        Storage::ALL.into_iter().find(|s| s.as_str() == text)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Storage::Text => "text",
            Storage::Numeric => "numeric",
            Storage::Timestamptz => "timestamptz",
        }
    }
}

/// A field of a master schema marked `x-indexed: true`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IndexedField {
    /// Pointer of the field's schema node in the file.
    pub pointer: String,
    /// Dotted path of the field in the instance data, e.g. `customer.segment`.
    pub path: String,
    /// The field's JSON type as declared (`string`, `number`, ...).
    pub json_type: String,
    pub storages: Vec<Storage>,
    pub sortable: bool,
    pub operators: Vec<String>,
}

/// A field marked `x-indexed` where indexing is not possible, with the reason.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct IneligibleIndex {
    pub pointer: String,
    pub reason: String,
}

/// The typed parts of a schema component.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct SchemaBody {
    pub schema_type: Option<String>,
    pub indexed: Vec<IndexedField>,
    pub ineligible: Vec<IneligibleIndex>,
}

/// A task's call into a workflow (task types that start, trigger or read instances).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct WorkflowCall {
    pub pointer: String,
    pub domain: String,
    pub flow: String,
}

/// The typed parts of a task.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TaskBody {
    /// The type number as written (`"6"` is Http).
    pub task_type: Option<String>,
    /// The type's settings, as canonical JSON.
    pub config: Option<String>,
    pub calls: Vec<WorkflowCall>,
}

/// The typed parts of a view.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ViewBody {
    /// 1 JSON, 2 HTML, 3 Markdown, 4 deep link, 5 HTTP, 6 URN.
    pub view_type: Option<i64>,
    pub display: Option<String>,
}

/// The typed parts of a function.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct FunctionBody {
    /// `D` domain, `F` flow, `I` instance.
    pub scope: Option<String>,
    /// Indexes into the component's references of the tasks it runs.
    pub tasks: Vec<usize>,
}

/// The typed parts of an extension.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ExtensionBody {
    /// 1 global, 2 global and requested, 3 defined flows, 4 defined flows and requested.
    pub extension_type: Option<i64>,
    /// 1 get instance, 2 get all instances, 3 everywhere.
    pub scope: Option<i64>,
    pub tasks: Vec<usize>,
}

/// The typed parts of a mapping.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MappingBody {
    pub name: Option<String>,
    /// `B64` or `NAT`.
    pub encoding: Option<String>,
}

/// Kind-specific structure.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub enum Body {
    Workflow(Box<Workflow>),
    Task(TaskBody),
    View(ViewBody),
    Function(FunctionBody),
    Extension(ExtensionBody),
    Schema(Box<SchemaBody>),
    Mapping(MappingBody),
}

/// What the database stores of a component version.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Content {
    /// `attributes` as canonical JSON (sorted keys, no whitespace); `{}` when missing. Kept
    /// compressed, shared with the catalog and the renderer, never copied. Empty when not kept
    /// (a version that is published already); never cached.
    #[serde(skip)]
    pub attributes: crate::base::packed::Packed,
    /// Whether `attributes` holds a `\u0000` escape, which PostgreSQL's jsonb cannot store;
    /// false when they are not kept.
    #[serde(skip)]
    pub has_nul: bool,
    /// The runtime's `"DataHash"` of the attributes (lowercase hex SHA-1).
    pub data_hash: String,
    /// The first 128 bits of the SHA-256 of `attributes`, in hex: what "the content of a
    /// version" means.
    pub hash: String,
}

/// One component file, loaded.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Component {
    pub file: FileId,
    /// Index of the solution (domain) the file was found under; `None` for loose files.
    pub solution: Option<usize>,
    /// The kind its folder implies, when it sits in a component folder.
    pub folder_kind: Option<Kind>,
    /// The kind it is treated as (from `flow`, else from the folder).
    pub kind: Kind,
    pub key: Option<String>,
    pub version: Option<String>,
    pub domain: Option<String>,
    pub flow: Option<String>,
    pub flow_version: Option<String>,
    pub tags: Vec<String>,
    pub refs: Vec<Reference>,
    pub body: Body,
    /// The stored content; computed only when compiling (`lint` does not need it).
    pub content: Option<Content>,
    /// Whether the file passed its JSON Schema.
    pub schema_valid: bool,
    /// The package of its solution it comes from (`Solution::packages`), if any.
    #[serde(default)]
    pub package: Option<usize>,
}

impl Component {
    /// `key@version` for messages, with placeholders for what is missing.
    pub fn display_id(&self) -> String {
        format!(
            "{} {}@{}",
            self.kind,
            self.key.as_deref().unwrap_or("<no key>"),
            self.version.as_deref().unwrap_or("<no version>")
        )
    }

    pub fn workflow(&self) -> Option<&Workflow> {
        match &self.body {
            Body::Workflow(workflow) => Some(workflow),
            _ => None,
        }
    }

    /// Lets go of what only the component's own checks read (`check::check_file`): a
    /// workflow's states and transitions, all but its master schema. They run where the file
    /// is loaded; nothing after them reads the structure, and a large domain's models held it
    /// for the whole plan (at 10,000 workflows, tens of megabytes, cached and decoded again
    /// on every run).
    pub(crate) fn let_go_of_structure(&mut self) {
        if let Body::Workflow(workflow) = &mut self.body {
            **workflow = Workflow {
                master_schema: workflow.master_schema,
                ..Workflow::default()
            };
        }
    }

    pub fn schema_body(&self) -> Option<&SchemaBody> {
        match &self.body {
            Body::Schema(schema) => Some(schema),
            _ => None,
        }
    }
}
