//! `ormkit-cli validate`: the live database against schema.lock, as a deploy gate.

use std::path::PathBuf;
use std::process::ExitCode;

use ormkit::migrate::StatusReport;
use ormkit::sqlx::PgPool;
use ormkit::validate::{SchemaValidator, ValidationReport};

use super::{block_on, paragraph, DatabaseArgs};

/// Arguments of `validate`.
#[derive(Debug, clap::Args)]
pub(crate) struct ValidateArgs {
    #[command(flatten)]
    db: DatabaseArgs,
    /// The lock the code was generated from.
    #[arg(long, default_value = "schema.lock")]
    lock: PathBuf,
    /// Print one JSON object (the findings, and where the migrations stand) instead of text.
    #[arg(long)]
    json: bool,
}

/// Prints every finding (errors, then warnings) and, when the migrations directory exists,
/// where the database stands; exits 1 when a finding is an error.
pub(crate) fn run(args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let lock = std::fs::read_to_string(&args.lock).map_err(|err| {
        anyhow::anyhow!(
            "cannot read {}: {err}; pass the lock the code was built from with --lock",
            args.lock.display()
        )
    })?;
    block_on(async move {
        let pool = args.db.pool().await?;
        let result = validate(&pool, &args, &lock).await;
        pool.close().await;
        result
    })?
}

async fn validate(pool: &PgPool, args: &ValidateArgs, lock: &str) -> anyhow::Result<ExitCode> {
    let report = SchemaValidator::new(pool)
        .validate_lock(lock)
        .await
        .map_err(paragraph)?;
    let status = if args.db.migrations.is_dir() {
        let status = super::migrate::from_dir(pool, &args.db)?
            .status()
            .await
            .map_err(paragraph)?;
        Some(status)
    } else {
        None
    };
    if args.json {
        outln!("{}", json(&report, status.as_ref(), args));
    } else {
        outln!("{report}");
        if let Some(status) = &status {
            let summary = status.to_string();
            let last_line = summary.lines().last().unwrap_or_default();
            outln!("migrations: {last_line}");
        }
    }
    if report.is_ok() {
        return Ok(ExitCode::SUCCESS);
    }
    errln!(
        "error: the database does not match {}: {} error(s); the code built from it would fail",
        args.lock.display(),
        report.errors().count()
    );
    Ok(ExitCode::from(crate::status::CHECK_FAILED))
}

/// `--json`: `ok`, the counts, every finding (`severity`, `finding`, its fields, `message`)
/// and, with a migrations directory, the migrations' status as `migrate status --json`
/// prints it.
fn json(report: &ValidationReport, status: Option<&StatusReport>, args: &ValidateArgs) -> String {
    let findings: Vec<serde_json::Value> = report
        .findings
        .iter()
        .map(|finding| {
            let mut value = serde_json::json!({ "severity": finding.severity() });
            if let (Some(object), Ok(serde_json::Value::Object(fields))) =
                (value.as_object_mut(), serde_json::to_value(finding))
            {
                object.extend(fields);
                object.insert("message".into(), finding.to_string().into());
            }
            value
        })
        .collect();
    serde_json::json!({
        "ok": report.is_ok(),
        "lock": args.lock.display().to_string(),
        "errors": report.errors().count(),
        "warnings": report.warnings().count(),
        "findings": findings,
        "migrations": status.map(super::migrate::status_json),
    })
    .to_string()
}
