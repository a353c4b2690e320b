//! Writes a synthetic vNext workspace for benchmarks and scale tests.
//!
//! `cargo run --release --example gen_workspace -- --workflows 1000 --out /tmp/ws`
//!
//! Each workflow comes with two tasks, a view and a master schema (five components per
//! workflow), so `--workflows 1000` gives the 5,000-component domain of the performance targets.
//! Workflows look like real ones: six states, manual and automatic transitions with task steps,
//! a shared cancel transition, a view, a timeout, a master schema with indexed fields, and every
//! tenth workflow calls the previous one as a subflow. The output is deterministic.
//! Options: `--format json|yaml` (default json), `--domain NAME` (default `bench`),
//! `--version V` (the version written into every component, default 1.0.0).

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// What to generate (also used by the test `incremental`, which includes this file).
pub(crate) struct Options {
    pub(crate) workflows: usize,
    pub(crate) out: PathBuf,
    pub(crate) yaml: bool,
    pub(crate) domain: String,
    pub(crate) version: String,
}

fn parse_args() -> Result<Options, String> {
    let mut options = Options {
        workflows: 100,
        out: PathBuf::from("bench-workspace"),
        yaml: false,
        domain: "bench".to_owned(),
        version: "1.0.0".to_owned(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--workflows" => {
                options.workflows = value()?.parse().map_err(|_| "--workflows takes a number")?
            }
            "--out" => options.out = PathBuf::from(value()?),
            "--format" => options.yaml = value()? == "yaml",
            "--domain" => options.domain = value()?,
            "--version" => options.version = value()?,
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(options)
}

fn main() {
    let options = match parse_args() {
        Ok(options) => options,
        Err(message) => {
            eprintln!("error: {message}");
            std::process::exit(2);
        }
    };
    if let Err(err) = generate(&options) {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
    println!(
        "wrote {} components to {}",
        options.workflows * 5,
        options.out.display()
    );
}

pub(crate) fn generate(options: &Options) -> std::io::Result<()> {
    let root = &options.out;
    std::fs::create_dir_all(root)?;
    std::fs::write(
        root.join("vnext.config.json"),
        format!(
            "{{\n  \"domain\": \"{}\",\n  \"runtimeVersion\": \"0.0.95\",\n  \"paths\": {{ \"componentsRoot\": \"core\" }}\n}}\n",
            options.domain
        ),
    )?;
    let ext = if options.yaml { "yaml" } else { "json" };
    for n in 0..options.workflows {
        let group = format!("group-{:03}", n / 100);
        let name = format!("flow-{n:05}");
        let files = [
            ("Workflows", name.clone(), workflow(options, n)),
            ("Tasks", format!("{name}-check"), task(options, n, "check")),
            (
                "Tasks",
                format!("{name}-notify"),
                task(options, n, "notify"),
            ),
            ("Views", format!("{name}-form"), view(options, n)),
            ("Schemas", format!("{name}-data"), schema(options, n)),
        ];
        for (folder, key, value) in files {
            let dir = root.join("core").join(folder).join(&group);
            std::fs::create_dir_all(&dir)?;
            write(&dir.join(format!("{key}.{ext}")), &value, options.yaml)?;
        }
    }
    Ok(())
}

fn write(path: &Path, value: &serde_json::Value, yaml: bool) -> std::io::Result<()> {
    let text = if yaml {
        to_yaml(value, 0)
    } else {
        let mut text = serde_json::to_string_pretty(value).expect("serializable");
        text.push('\n');
        text
    };
    std::fs::write(path, text)
}

/// A small block-style YAML writer: enough for generated data (strings are always quoted).
fn to_yaml(value: &serde_json::Value, indent: usize) -> String {
    use serde_json::Value;
    let pad = " ".repeat(indent);
    let mut out = String::new();
    match value {
        Value::Object(map) => {
            for (key, member) in map {
                match member {
                    Value::Object(inner) if !inner.is_empty() => {
                        let _ = writeln!(out, "{pad}{key}:");
                        out.push_str(&to_yaml(member, indent + 2));
                    }
                    Value::Array(items) if !items.is_empty() => {
                        let _ = writeln!(out, "{pad}{key}:");
                        out.push_str(&to_yaml(member, indent + 2));
                    }
                    scalar => {
                        let _ = writeln!(out, "{pad}{key}: {}", inline(scalar));
                    }
                }
            }
        }
        Value::Array(items) => {
            for item in items {
                match item {
                    Value::Object(map) if !map.is_empty() => {
                        let body = to_yaml(item, indent + 2);
                        let _ = write!(out, "{pad}- {}", &body[indent + 2..]);
                    }
                    scalar => {
                        let _ = writeln!(out, "{pad}- {}", inline(scalar));
                    }
                }
            }
        }
        scalar => {
            let _ = writeln!(out, "{pad}{}", inline(scalar));
        }
    }
    out
}

fn inline(value: &serde_json::Value) -> String {
    match value {
        serde_json::Value::Object(_) => "{}".to_owned(),
        serde_json::Value::Array(_) => "[]".to_owned(),
        other => other.to_string(),
    }
}

fn label(text: &str) -> serde_json::Value {
    serde_json::json!([
        { "label": text, "language": "en-US" },
        { "label": format!("{text} (tr)"), "language": "tr-TR" }
    ])
}

const MAPPING: &str = "dXNpbmcgU3lzdGVtLlRocmVhZGluZy5UYXNrczsKdXNpbmcgQkJULldvcmtmbG93LlNjcmlwdGluZzsKCnB1YmxpYyBjbGFzcyBNYXBwaW5nIDogU2NyaXB0QmFzZSwgSU1hcHBpbmcKewogICAgcHVibGljIFRhc2s8U2NyaXB0UmVzcG9uc2U+IElucHV0SGFuZGxlcihXb3JrZmxvd1Rhc2sgdGFzaywgU2NyaXB0Q29udGV4dCBjb250ZXh0KQogICAgewogICAgICAgIHJldHVybiBUYXNrLkZyb21SZXN1bHQobmV3IFNjcmlwdFJlc3BvbnNlKCkpOwogICAgfQp9Cg==";

fn step(options: &Options, n: usize, which: &str, order: u32) -> serde_json::Value {
    serde_json::json!({
        "order": order,
        "task": {
            "key": format!("flow-{n:05}-{which}"),
            "domain": options.domain,
            "version": options.version,
            "flow": "sys-tasks"
        },
        "mapping": { "location": format!("./src/{which}Mapping.csx"), "code": MAPPING }
    })
}

fn workflow(options: &Options, n: usize) -> serde_json::Value {
    let key = format!("flow-{n:05}");
    let reference = |key: String, flow: &str| serde_json::json!({ "key": key, "domain": options.domain, "version": options.version, "flow": flow });
    let states = workflow_states(options, n);
    serde_json::json!({
        "key": key,
        "version": options.version,
        "domain": options.domain,
        "flow": "sys-flows",
        "flowVersion": "1.0.0",
        "tags": ["bench", format!("group-{:03}", n / 100)],
        "attributes": {
            "type": "F",
            "labels": label(&format!("Workflow {n}")),
            "schema": reference(format!("{key}-data"), "sys-schemas"),
            "timeout": {
                "key": "expire",
                "target": "rejected",
                "versionStrategy": "Major",
                "timer": { "duration": "P30D" }
            },
            "startTransition": {
                "key": "start",
                "target": "draft",
                "triggerType": 0,
                "versionStrategy": "Major",
                "labels": label("start"),
                "onExecutionTasks": [step(options, n, "check", 1)]
            },
            "cancel": {
                "key": "cancel",
                "target": "rejected",
                "triggerType": 0,
                "versionStrategy": "Major",
                "labels": label("cancel"),
                "availableIn": ["draft", "review"]
            },
            "states": states
        }
    })
}

/// The states of workflow `n`: a review with a scoring step, every tenth one with a subflow
/// state that runs the workflow before it.
fn workflow_states(options: &Options, n: usize) -> Vec<serde_json::Value> {
    let reference = |key: String, flow: &str| serde_json::json!({ "key": key, "domain": options.domain, "version": options.version, "flow": flow });
    let transition = |key: &str, target: &str, auto: bool| {
        let mut t = serde_json::json!({
            "key": key,
            "target": target,
            "triggerType": if auto { 1 } else { 0 },
            "versionStrategy": "Minor",
            "labels": label(key),
            "onExecutionTasks": [step(options, n, "check", 1), step(options, n, "notify", 2)]
        });
        if auto {
            t["rule"] = serde_json::json!({ "location": "./src/AlwaysTrue.csx", "code": MAPPING });
        } else {
            t["view"] = serde_json::json!({ "view": reference(format!("flow-{n:05}-form"), "sys-views"), "loadData": true });
        }
        t
    };
    let state = |key: &str, state_type: u32, sub_type: u32, transitions: Vec<serde_json::Value>| {
        serde_json::json!({
            "key": key,
            "stateType": state_type,
            "subType": sub_type,
            "versionStrategy": "Major",
            "labels": label(key),
            "onEntries": [step(options, n, "notify", 1)],
            "transitions": transitions
        })
    };
    let mut states = vec![
        state("draft", 1, 0, vec![transition("submit", "review", false)]),
        state(
            "review",
            2,
            6,
            vec![
                transition("approve", "scoring", false),
                transition("reject", "rejected", false),
            ],
        ),
        state(
            "scoring",
            2,
            0,
            vec![transition("scored", "decision", true)],
        ),
        state(
            "decision",
            2,
            0,
            vec![
                transition("accept", "completed", false),
                transition("decline", "rejected", false),
            ],
        ),
        state("completed", 3, 1, vec![]),
        state("rejected", 3, 2, vec![]),
    ];
    if n % 10 == 9 {
        states.insert(
            3,
            serde_json::json!({
                "key": "sub-review",
                "stateType": 4,
                "versionStrategy": "Major",
                "labels": label("sub-review"),
                "subFlow": {
                    "type": "S",
                    "process": reference(format!("flow-{:05}", n - 1), "sys-flows"),
                    "mapping": { "code": MAPPING }
                },
                "transitions": [transition("sub-done", "decision", false)]
            }),
        );
        states[2]["transitions"][0]["target"] = serde_json::json!("sub-review");
    }
    states
}

fn task(options: &Options, n: usize, which: &str) -> serde_json::Value {
    let attributes = if which == "check" {
        serde_json::json!({
            "type": "6",
            "config": {
                "url": format!("https://checks.example.com/api/{n}"),
                "method": "POST",
                "timeoutSeconds": 30,
                "headers": { "x-flow": format!("flow-{n:05}") }
            }
        })
    } else {
        serde_json::json!({
            "type": "4",
            "config": { "pubSubName": "events", "topic": format!("flow-{n:05}-events") }
        })
    };
    serde_json::json!({
        "key": format!("flow-{n:05}-{which}"),
        "version": options.version,
        "domain": options.domain,
        "flow": "sys-tasks",
        "flowVersion": "1.0.0",
        "tags": ["bench"],
        "attributes": attributes
    })
}

fn view(options: &Options, n: usize) -> serde_json::Value {
    serde_json::json!({
        "key": format!("flow-{n:05}-form"),
        "version": options.version,
        "domain": options.domain,
        "flow": "sys-views",
        "flowVersion": "1.0.0",
        "tags": ["bench"],
        "attributes": {
            "type": 1,
            "display": "full-page",
            "labels": label("form"),
            "content": {
                "type": "Column",
                "children": [
                    { "type": "Text", "content": { "en": format!("Application {n}") } },
                    { "type": "Input", "bind": "amount" },
                    { "type": "Input", "bind": "customer.segment" }
                ]
            }
        }
    })
}

fn schema(options: &Options, n: usize) -> serde_json::Value {
    serde_json::json!({
        "key": format!("flow-{n:05}-data"),
        "version": options.version,
        "domain": options.domain,
        "flow": "sys-schemas",
        "flowVersion": "1.0.0",
        "tags": ["bench"],
        "attributes": {
            "type": "master",
            "schema": {
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "$id": format!("urn:bench:flow-{n:05}-data"),
                "title": format!("Data of workflow {n}"),
                "type": "object",
                "properties": {
                    "amount": { "type": "number", "x-indexed": true, "x-sortable": true },
                    "status": { "type": "string", "x-indexed": true, "x-filterOperators": ["eq", "in", "contains"] },
                    "submittedAt": { "type": "string", "format": "date-time", "x-indexed": true },
                    "customer": {
                        "type": "object",
                        "properties": {
                            "segment": { "type": "string", "x-indexed": true },
                            "name": { "type": "string" }
                        }
                    },
                    "notes": { "type": "string" }
                }
            }
        }
    })
}
