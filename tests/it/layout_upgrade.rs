//! Changing the platform's instance layout upgrades every schema of every domain through the
//! same planner: the platform plan upgrades the system schemas, each domain's plan its workflow
//! schemas. The whole chain runs on PostgreSQL.

use std::path::Path;

use vnext::command::pipeline::{self, Outcome, PlanInput, PlanMode};

use crate::database::{TestDb, migration_files};

fn plan(root: &Path, platform: Option<&Path>) -> pipeline::PlanOutput {
    pipeline::plan(&PlanInput {
        platform: platform.map(Path::to_path_buf),
        ..PlanInput::new(root, PlanMode::Write)
    })
}

/// The layout change: a new nullable column and index on "Instances", a wider varchar, a new
/// table, and a new EF migration id.
pub(crate) fn upgrade_layout(definitions: &Path) {
    let path = definitions.join("layout/instance-tables.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let text = text
        .replace("version: \"20260929213525.1\"", "version: \"20261015000000\"")
        .replace(
            "    - 20260929213525_AddInstanceSecrets\n",
            "    - 20260929213525_AddInstanceSecrets\n    - 20261015000000_AddInstancePriority\n",
        )
        .replace(
            "      - { name: Stage, type: varchar(120), nullable: true }\n      - { name: Tags, type: \"text[]\" }",
            "      - { name: Stage, type: varchar(200), nullable: true }\n      - { name: Tags, type: \"text[]\" }\n      - { name: Priority, type: integer, nullable: true }",
        )
        .replace(
            "      - { name: IX_Instances_Key, columns: [Key] }\n",
            "      - { name: IX_Instances_Key, columns: [Key] }\n      - { name: IX_Instances_Priority, columns: [Priority], where: [{ column: Priority, notNull: true }] }\n",
        )
        .replace(
            "  - name: __Workflow_Migrations\n",
            "  - name: InstanceNotes\n    columns:\n      - { name: Id, type: uuid }\n      - { name: InstanceId, type: uuid }\n      - { name: Note, type: text }\n    primaryKey: { name: PK_InstanceNotes, columns: [Id] }\n    foreignKeys:\n      - { name: FK_InstanceNotes_Instances_InstanceId, columns: [InstanceId], references: Instances, referencedColumns: [Id], onDelete: cascade }\n\n  - name: __Workflow_Migrations\n",
        );
    assert!(
        text.contains("version: \"20261015000000\"")
            && text.contains("Priority")
            && text.contains("InstanceNotes")
            && text.contains("varchar(200)")
    );
    std::fs::write(path, text).unwrap();
}

/// Points a copied example workspace at the platform's own runtime release (the one whose
/// layout `upgrade_layout` changes), so its workflow schemas follow the system schemas.
pub(crate) fn on_newest_release(workspace: &Path) {
    let path = workspace.join("vnext.config.json");
    let text = std::fs::read_to_string(&path).unwrap();
    assert!(text.contains("\"runtimeVersion\": \"0.0.95\""));
    std::fs::write(
        &path,
        text.replace(
            "\"runtimeVersion\": \"0.0.95\"",
            "\"runtimeVersion\": \"0.0.99\"",
        ),
    )
    .unwrap();
}

#[test]
fn a_layout_change_upgrades_every_schema() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let temp = tempfile::tempdir().unwrap();
    // The platform workspace, with its generated/ next to it as in the repository.
    let definitions = temp.path().join("definitions");
    crate::plan_fixtures::copy_dir(&repo.join("definitions"), &definitions);
    let domain = temp.path().join("loans");
    crate::plan_fixtures::copy_dir(&repo.join("examples/loans"), &domain);
    std::fs::remove_dir_all(domain.join("generated")).unwrap();
    on_newest_release(&domain);

    assert_eq!(
        plan(&definitions, None).domains[0].outcome,
        Outcome::Written
    );
    assert_eq!(
        plan(&domain, Some(&definitions)).domains[0].outcome,
        Outcome::Written
    );

    upgrade_layout(&definitions);
    let platform = plan(&definitions, None);
    assert!(
        platform.diagnostics.is_empty(),
        "{:#?}",
        platform.diagnostics
    );
    assert_eq!(platform.domains[0].outcome, Outcome::Written);
    let upgraded = plan(&domain, Some(&definitions));
    assert!(
        upgraded.diagnostics.is_empty(),
        "{:#?}",
        upgraded.diagnostics
    );
    let loans = &upgraded.domains[0];
    assert_eq!(loans.outcome, Outcome::Written);
    let plan = loans.plan.as_ref().unwrap();
    assert!(
        plan.hazards.is_empty(),
        "widening a varchar and adding a nullable column are safe: {:?}",
        plan.hazards
    );
    let sql = std::fs::read_to_string(loans.written.as_ref().unwrap()).unwrap();
    crate::support::check_expected(
        &repo.join("tests/fixtures/upgrade/loans_0002.sql.expected"),
        &sql,
    )
    .unwrap();

    // The whole chain, in deploy order, on a real database (the planning above needs none).
    if !crate::database::available() {
        return;
    }
    let db = TestDb::create("upgrade");
    let platform_files = migration_files(&temp.path().join("generated/platform"));
    let domain_files = migration_files(&domain.join("generated/loans"));
    assert_eq!((platform_files.len(), domain_files.len()), (2, 2));
    db.run_file(&platform_files[0]);
    db.run_file(&domain_files[0]);
    db.run_file(&platform_files[1]);
    db.run_file(&domain_files[1]);
    let priority = db.query(
        "SELECT table_schema FROM information_schema.columns WHERE column_name = 'Priority' AND table_name = 'Instances' ORDER BY 1",
    );
    assert_eq!(
        priority.len(),
        7 + 4,
        "every system and workflow schema has the new column: {priority:?}"
    );
    let widened = db.query(
        "SELECT DISTINCT character_maximum_length FROM information_schema.columns WHERE column_name = 'Stage' AND table_name = 'Instances'",
    );
    assert_eq!(widened, vec!["200"]);
    let layouts = db.query("SELECT DISTINCT \"LayoutVersion\" FROM sys_schemas.\"ManagedSchemas\" WHERE \"Kind\" = 'flow' ORDER BY 1");
    // Workflows with indexed fields also have the runtime's attribute-index catalog.
    assert_eq!(
        layouts,
        vec![
            "instance@20261015000000",
            "instance@20261015000000,attribute-index@1"
        ]
    );
    let ef = db.query("SELECT count(*) FROM loan_application.\"__Workflow_Migrations\" WHERE \"MigrationId\" = '20261015000000_AddInstancePriority'");
    assert_eq!(ef, vec!["1"]);
    // And nothing is left to do.
    assert_eq!(plan_check(&domain, &definitions), Outcome::UpToDate);
}

fn plan_check(root: &Path, platform: &Path) -> Outcome {
    let output = pipeline::plan(&PlanInput {
        platform: Some(platform.to_path_buf()),
        ..PlanInput::new(root, PlanMode::Check)
    });
    output.domains[0].outcome.clone()
}
