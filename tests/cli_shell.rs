//! The command line in a shell: `arrears completions SHELL` prints scripts
//! that bash loads and that complete subcommands, `arrears man` prints a
//! manual page that `man` renders with every subcommand in it, and every
//! command's `--help` ends with the exit codes.

use std::io::Write;
use std::process::{Command, Stdio};

const ARREARS: &str = env!("CARGO_BIN_EXE_arrears");

/// Runs arrears; its exit code and standard output.
fn arrears(args: &[&str]) -> (Option<i32>, String) {
    let out = Command::new(ARREARS)
        .args(args)
        .output()
        .expect("arrears runs");
    assert!(
        out.stderr.is_empty(),
        "arrears {args:?} wrote to standard error:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (
        out.status.code(),
        String::from_utf8(out.stdout).expect("UTF-8 output"),
    )
}

/// Whether `tool` runs here (`tool --version` succeeds).
fn available(tool: &str) -> bool {
    Command::new(tool)
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

#[test]
fn bash_loads_the_completions_and_completes_a_subcommand() {
    if !available("bash") {
        println!("the bash completion test needs bash, which does not run here: skipped");
        return;
    }
    let (code, script) = arrears(&["completions", "bash"]);
    assert_eq!(code, Some(0));
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("arrears.bash");
    std::fs::write(&path, &script).unwrap();
    // Load the script, find the function it registered for `arrears`, and
    // call it as bash would on `arrears ve<TAB>`.
    let probe = format!(
        r#"source '{}' || exit 10
registered=$(complete -p arrears) || exit 11
echo "registered: $registered"
function=$(sed -n 's/.*-F \([^ ]*\) .*/\1/p' <<<"$registered")
[ -n "$function" ] || exit 12
COMP_WORDS=(arrears ve)
COMP_CWORD=1
COMP_LINE="arrears ve"
COMP_POINT=${{#COMP_LINE}}
"$function" arrears ve arrears
printf 'offered: %s\n' "${{COMPREPLY[@]}}"
"#,
        path.display()
    );
    let out = Command::new("bash")
        .arg("--norc")
        .arg("--noprofile")
        .arg("-c")
        .arg(&probe)
        .output()
        .expect("bash runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let context = format!(
        "status {:?}\n--- stdout\n{stdout}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{context}");
    assert!(stdout.contains("registered: complete "), "{context}");
    let offered: Vec<&str> = stdout
        .lines()
        .filter_map(|l| l.strip_prefix("offered: "))
        .map(str::trim)
        .collect();
    assert_eq!(offered, ["verify"], "{context}");
}

#[test]
fn every_shell_gets_a_script_that_knows_the_subcommands() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let (code, script) = arrears(&["completions", shell]);
        assert_eq!(code, Some(0), "{shell}");
        for subcommand in ["verify", "fleet", "completions", "man"] {
            assert!(
                script.contains(subcommand),
                "the {shell} script does not mention `{subcommand}`:\n{script}"
            );
        }
    }
}

#[test]
fn an_unknown_shell_is_a_usage_error() {
    let out = Command::new(ARREARS)
        .args(["completions", "tcsh"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("tcsh"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The subcommands of `arrears --help`, from its Commands list.
fn subcommands() -> Vec<String> {
    let (code, help) = arrears(&["--help"]);
    assert_eq!(code, Some(0));
    let listed: Vec<String> = help
        .split("Commands:")
        .nth(1)
        .expect("a Commands list")
        .lines()
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect();
    assert!(listed.len() >= 10, "{help}");
    listed
}

#[test]
fn the_manual_page_renders_with_every_subcommand() {
    let (code, page) = arrears(&["man"]);
    assert_eq!(code, Some(0));
    // One page: a single title, every subcommand a subsection.
    assert_eq!(
        page.lines().filter(|l| l.starts_with(".TH ")).count(),
        1,
        "{page}"
    );
    for name in subcommands() {
        assert!(
            page.contains(&format!(".SS \"arrears {name}\"")),
            "no subsection for `arrears {name}`"
        );
    }
    assert!(page.contains(".SS \"arrears fleet merge\""), "{page}");
    if !available("man") {
        println!("the manual page test needs man, which does not run here: rendering skipped");
        return;
    }
    let mut man = Command::new("man")
        .args(["-l", "-"])
        .env("MANPAGER", "cat")
        .env("PAGER", "cat")
        .env("MANWIDTH", "100")
        .env("MAN_KEEP_FORMATTING", "0")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("man starts");
    man.stdin
        .take()
        .unwrap()
        .write_all(page.as_bytes())
        .unwrap();
    let out = man.wait_with_output().unwrap();
    let rendered = String::from_utf8_lossy(&out.stdout);
    let context = format!(
        "status {:?}\n--- stderr\n{}\n--- rendered\n{rendered}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(0), "{context}");
    // Rendered text has no roff requests left, and names every command
    // (bold may come as overstrikes: compare without them).
    let plain = strip_overstrike(&rendered);
    assert!(!plain.contains("\n.SS"), "{context}");
    for name in subcommands() {
        assert!(
            plain.contains(&format!("arrears {name}")),
            "`arrears {name}` missing:\n{context}"
        );
    }
    assert!(plain.contains("EXIT STATUS"), "{context}");
    assert!(plain.contains("the coverage gate failed"), "{context}");
}

/// Text without the `c\bc` overstrikes a terminal renderer uses for bold
/// and underline.
fn strip_overstrike(text: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out.into_iter().collect()
}

#[test]
fn every_command_help_ends_with_the_exit_codes() {
    for name in subcommands() {
        let (code, help) = arrears(&[&name, "--help"]);
        assert_eq!(code, Some(0), "{name}");
        assert!(
            help.contains("\nExit codes:\n  0  success\n")
                && help.trim_end().ends_with("5  the coverage gate failed"),
            "`arrears {name} --help` does not end with the exit codes:\n{help}"
        );
    }
    let (code, help) = arrears(&["fleet", "merge", "--help"]);
    assert_eq!(code, Some(0));
    assert!(help.contains("Exit codes:\n  0  success"), "{help}");
}
