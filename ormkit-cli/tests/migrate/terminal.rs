//! What a person at a terminal sees: colours only on a terminal, never with `NO_COLOR`.

use super::*;

/// Runs `command` (a shell command line) on a pseudo-terminal, as a person at a terminal
/// would; everything it wrote comes back.
fn on_a_terminal(command: &str, no_color: bool) -> String {
    let mut script = Command::new("script");
    script.args(["-qec", command, "/dev/null"]);
    script.env_remove("CLICOLOR_FORCE").env("TERM", "xterm");
    if no_color {
        script.env("NO_COLOR", "1");
    } else {
        script.env_remove("NO_COLOR");
    }
    let output = script.output().expect("script(1) runs");
    String::from_utf8_lossy(&output.stdout).into_owned()
}

#[test]
fn colours_only_on_a_terminal_and_never_with_no_color() {
    let project = tempfile::tempdir().unwrap();
    let exe = env!("CARGO_BIN_EXE_ormkit-cli");
    let command = format!(
        "cd {} && {exe} migration create 'bad name'",
        project.path().display()
    );
    const ESC: char = '\u{1b}';

    let coloured = on_a_terminal(&command, false);
    assert!(
        coloured.contains("is not a valid migration name"),
        "{coloured:?}"
    );
    assert!(
        coloured.contains(ESC),
        "a terminal gets colours: {coloured:?}"
    );
    let plain = on_a_terminal(&command, true);
    assert!(plain.contains("error: \"bad name\" is not"), "{plain:?}");
    assert!(!plain.contains(ESC), "NO_COLOR: {plain:?}");
    // clap's own usage errors follow the same rule.
    let plain = on_a_terminal(&format!("{exe} migrate --no-such-flag"), true);
    assert!(plain.contains("--no-such-flag"), "{plain:?}");
    assert!(!plain.contains(ESC), "NO_COLOR: {plain:?}");

    let piped = cli(project.path())
        .args(["migration", "create", "bad name"])
        .env_remove("NO_COLOR")
        .output()
        .unwrap();
    assert!(!text(&piped).contains(ESC), "a pipe: {}", text(&piped));
}
