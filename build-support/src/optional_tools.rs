//! The optional programs some tests need (PgBouncer, the `openssl` command): whether each is
//! installed, and what a build script says when one is not.
//!
//! A crate whose tests need a tool calls [`build_script`] from its build.rs. A missing tool
//! sets the cfg [`OptionalTool::cfg`], so those tests carry
//! `#[cfg_attr(ormkit_no_pgbouncer, ignore = "needs pgbouncer: apt-get install pgbouncer")]`
//! and cargo lists them as ignored, with the reason, while every other test runs; the build
//! prints a `cargo:warning` naming the install command. With `ORMKIT_REQUIRE_TOOLS=1` (CI) a
//! missing tool fails the build instead.
//!
//! Only `std`: build-support's own build.rs includes this file (`#[path]`), before the crate
//! exists.

use std::path::{Path, PathBuf};

/// The variable that makes a missing optional tool a build failure (CI sets it to `1`).
pub const REQUIRE_TOOLS_ENV: &str = "ORMKIT_REQUIRE_TOOLS";

/// Where programs are looked for after `PATH`: Debian installs PgBouncer in `/usr/sbin`,
/// which is not in an ordinary user's `PATH`.
pub const SYSTEM_DIRS: [&str; 4] = ["/usr/sbin", "/usr/bin", "/usr/local/sbin", "/usr/local/bin"];

/// A program some tests need and the rest of the suite does not.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OptionalTool {
    /// The program's file name.
    pub program: &'static str,
    /// The variable that names its path instead of a search, if there is one.
    pub path_env: Option<&'static str>,
    /// The cfg set when it is missing.
    pub cfg: &'static str,
    /// How to install it.
    pub install: &'static str,
    /// Which tests need it.
    pub needed_by: &'static str,
}

/// PgBouncer: the pooler tests (`ORMKIT_PGBOUNCER` names its path).
pub const PGBOUNCER: OptionalTool = OptionalTool {
    program: "pgbouncer",
    path_env: Some("ORMKIT_PGBOUNCER"),
    cfg: "ormkit_no_pgbouncer",
    install: "apt-get install pgbouncer",
    needed_by: "the PgBouncer tests",
};

/// The `openssl` command: the TLS test that converts a client key to the traditional form.
pub const OPENSSL: OptionalTool = OptionalTool {
    program: "openssl",
    path_env: None,
    cfg: "ormkit_no_openssl",
    install: "apt-get install openssl",
    needed_by: "the TLS test of a traditional (SEC1) client key",
};

impl OptionalTool {
    /// The tool's path, from its variable, else the first executable `program` in `PATH`
    /// (read through `lookup`), else in `system` directories.
    pub fn find_in(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
        system: &[&str],
    ) -> Option<PathBuf> {
        if let Some(explicit) = self.path_env.and_then(lookup).filter(|p| !p.is_empty()) {
            return Some(PathBuf::from(explicit));
        }
        self.search_dirs(lookup, system)
            .into_iter()
            .map(|dir| dir.join(self.program))
            .find(|candidate| is_executable(candidate))
    }

    /// `PATH`'s directories, then `system`'s.
    fn search_dirs(
        &self,
        lookup: &dyn Fn(&str) -> Option<String>,
        system: &[&str],
    ) -> Vec<PathBuf> {
        let path = lookup("PATH").unwrap_or_default();
        std::env::split_paths(&path)
            .filter(|dir| !dir.as_os_str().is_empty())
            .chain(system.iter().map(PathBuf::from))
            .collect()
    }

    /// What is missing, which tests need it and the install command: the build's warning
    /// and, under [`REQUIRE_TOOLS_ENV`], its error.
    pub fn missing_message(&self) -> String {
        let variable = self
            .path_env
            .map(|var| format!(", or set {var} to its path"))
            .unwrap_or_default();
        format!(
            "{} not found (PATH, {}): {} need it; install it with `{}`{variable}",
            self.program,
            SYSTEM_DIRS.join(", "),
            self.needed_by,
            self.install
        )
    }
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt as _;
    path.metadata()
        .is_ok_and(|meta| meta.is_file() && meta.permissions().mode() & 0o111 != 0)
}

/// What a build script prints for `tools` (its `cargo:` lines), or why the build must fail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Detection {
    /// The `cargo:` lines to print.
    pub lines: Vec<String>,
    /// The tools that were not found.
    pub missing: Vec<OptionalTool>,
    /// Set when a tool is missing and [`REQUIRE_TOOLS_ENV`] asks for all of them: the message
    /// to fail the build with.
    pub failure: Option<String>,
}

/// Looks for `tools` through `lookup` (the environment) and `system` directories.
pub fn detect(
    tools: &[OptionalTool],
    lookup: &dyn Fn(&str) -> Option<String>,
    system: &[&str],
) -> Detection {
    // Not `PATH`: a value that differs between a terminal and an editor's cargo would rerun
    // this script, and rebuild everything that depends on the crate, at each switch.
    let mut lines = vec![format!("cargo:rerun-if-env-changed={REQUIRE_TOOLS_ENV}")];
    let mut missing = Vec::new();
    for tool in tools {
        lines.push(format!("cargo::rustc-check-cfg=cfg({})", tool.cfg));
        if let Some(var) = tool.path_env {
            lines.push(format!("cargo:rerun-if-env-changed={var}"));
        }
        if tool.find_in(lookup, system).is_some() {
            continue;
        }
        lines.push(format!("cargo:rustc-cfg={}", tool.cfg));
        lines.push(format!(
            "cargo:warning={} (until then they are ignored)",
            tool.missing_message()
        ));
        missing.push(*tool);
    }
    if !missing.is_empty() {
        // Installing a package puts the program in one of these: the next build sees it.
        // (Only these: cargo scans a watched directory whole, and `PATH` may hold big ones.)
        for dir in system.iter().map(Path::new).filter(|dir| dir.is_dir()) {
            lines.push(format!("cargo:rerun-if-changed={}", dir.display()));
        }
    }
    let required = lookup(REQUIRE_TOOLS_ENV).is_some_and(|v| !matches!(v.trim(), "" | "0"));
    let failure = (required && !missing.is_empty()).then(|| {
        let each: Vec<String> = missing.iter().map(|t| t.missing_message()).collect();
        format!(
            "{REQUIRE_TOOLS_ENV} is set, and a tool the tests need is missing:\n  {}",
            each.join("\n  ")
        )
    });
    Detection {
        lines,
        missing,
        failure,
    }
}

/// For a build.rs: detects `tools` in this process's environment, prints the `cargo:` lines,
/// and exits with the whole story when [`REQUIRE_TOOLS_ENV`] is set and a tool is missing.
pub fn build_script(tools: &[OptionalTool]) {
    let detection = detect(tools, &|name| std::env::var(name).ok(), &SYSTEM_DIRS);
    for line in &detection.lines {
        println!("{line}");
    }
    if let Some(failure) = detection.failure {
        eprintln!("error: {failure}");
        std::process::exit(1);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt as _;

    /// An environment with `PATH` = `path` and the variables `vars`.
    fn env(path: &Path, vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let path = path.display().to_string();
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        move |name| {
            if name == "PATH" {
                return Some(path.clone());
            }
            vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
        }
    }

    #[test]
    fn a_tool_hidden_from_path_sets_the_cfg_and_names_the_install_command() {
        let (empty, system) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let lookup = env(empty.path(), &[]);
        let system_dir = system.path().display().to_string();
        let found = detect(&[PGBOUNCER], &lookup, &[&system_dir]);
        assert_eq!(found.missing, vec![PGBOUNCER]);
        assert!(found.failure.is_none(), "not required: {found:?}");
        assert!(found
            .lines
            .contains(&"cargo::rustc-check-cfg=cfg(ormkit_no_pgbouncer)".to_owned()));
        assert!(found
            .lines
            .contains(&"cargo:rustc-cfg=ormkit_no_pgbouncer".to_owned()));
        let warning = found
            .lines
            .iter()
            .find(|line| line.starts_with("cargo:warning="))
            .expect("a warning");
        assert!(warning.contains("apt-get install pgbouncer"), "{warning}");
        assert!(warning.contains("ORMKIT_PGBOUNCER"), "{warning}");
        assert!(
            found
                .lines
                .contains(&format!("cargo:rerun-if-changed={system_dir}")),
            "installing it reruns the build script: {found:?}"
        );
    }

    #[test]
    fn require_tools_turns_a_missing_tool_into_a_failure() {
        let empty = tempfile::tempdir().unwrap();
        for (value, fails) in [("1", true), ("0", false), ("", false)] {
            let lookup = env(empty.path(), &[(REQUIRE_TOOLS_ENV, value)]);
            let found = detect(&[PGBOUNCER, OPENSSL], &lookup, &[]);
            assert_eq!(
                found.failure.is_some(),
                fails,
                "{REQUIRE_TOOLS_ENV}={value}"
            );
            if let Some(failure) = found.failure {
                assert!(failure.contains("apt-get install pgbouncer"), "{failure}");
                assert!(failure.contains("apt-get install openssl"), "{failure}");
            }
        }
    }

    #[test]
    fn an_executable_on_path_or_the_variable_counts_as_installed() {
        let dir = tempfile::tempdir().unwrap();
        let program = dir.path().join("pgbouncer");
        std::fs::write(&program, "#!/bin/sh\n").unwrap();
        let lookup = env(dir.path(), &[(REQUIRE_TOOLS_ENV, "1")]);
        // Not executable: not a program.
        assert_eq!(PGBOUNCER.find_in(&lookup, &[]), None);
        std::fs::set_permissions(&program, std::fs::Permissions::from_mode(0o755)).unwrap();
        assert_eq!(PGBOUNCER.find_in(&lookup, &[]), Some(program));
        let found = detect(&[PGBOUNCER], &lookup, &[]);
        assert_eq!((found.missing, found.failure), (vec![], None));
        assert!(!found.lines.iter().any(|l| l.starts_with("cargo:rustc-cfg")));
        let elsewhere = tempfile::tempdir().unwrap();
        let lookup = env(elsewhere.path(), &[("ORMKIT_PGBOUNCER", "/opt/pgb")]);
        assert_eq!(
            PGBOUNCER.find_in(&lookup, &[]),
            Some(PathBuf::from("/opt/pgb"))
        );
    }
}
