//! `cargo xtask <task>`: the project's scripts behind one command, so a newcomer finds them
//! with `cargo xtask help` instead of reading `bench/` and `tests/`. Each task runs a script
//! or a cargo command that also works alone; this adds no logic of its own beyond choosing
//! which one.

use std::{
    path::{Path, PathBuf},
    process::{Command, ExitCode},
};

/// A task: its name, what it does, and the program it runs with its arguments (relative to the
/// repository root). Extra arguments on the command line are passed on.
struct Task {
    name: &'static str,
    about: &'static str,
    program: &'static str,
    args: &'static [&'static str],
}

const TASKS: &[Task] = &[
    Task {
        name: "ci",
        about: "what CI runs: fmt, clippy, doc, the tests on both backends, compose, the Python client, schemathesis",
        program: "bash",
        args: &[".ci/run"],
    },
    Task {
        name: "test",
        about: "the test suite (SQLite; PostgreSQL and Redis too when TEST_DATABASE_URL / TEST_REDIS_URL are set)",
        program: "cargo",
        args: &["test", "--workspace"],
    },
    Task {
        name: "demo",
        about: "the demo on the embedded default (release build)",
        program: "cargo",
        args: &["run", "--release", "--bin", "horizon", "--", "demo"],
    },
    Task {
        name: "schemathesis",
        about: "the API against its OpenAPI document (installs schemathesis in a venv)",
        program: "bash",
        args: &["tests/schemathesis.sh"],
    },
    Task {
        name: "compose",
        about: "docker/compose.yaml against the Compose Specification schema, the Dockerfile through hadolint",
        program: "bash",
        args: &["tests/compose.sh"],
    },
    Task {
        name: "python-client",
        about: "the Python client (clients/python) against a real horizon-api",
        program: "bash",
        args: &["tests/python_client.sh"],
    },
    Task {
        name: "bench-accuracy",
        about: "M1 and Tourism against R forecast and statsforecast (bench/accuracy/run.sh)",
        program: "bash",
        args: &["bench/accuracy/run.sh"],
    },
    Task {
        name: "bench-intervals",
        about: "interval honesty on long high-frequency histories, beside statsforecast (bench/intervals/run.sh)",
        program: "bash",
        args: &["bench/intervals/run.sh"],
    },
    Task {
        name: "bench-solar",
        about: "day-ahead solar forecasts with weather, beside the peers (bench/solar/run.sh)",
        program: "bash",
        args: &["bench/solar/run.sh"],
    },
    Task {
        name: "bench-pipeline",
        about: "the pipeline at scale, with and without covariates (bench/pipeline/run.sh)",
        program: "bash",
        args: &["bench/pipeline/run.sh"],
    },
    Task {
        name: "bench-ingest",
        about: "ingest: GDELT events landed and rolled up, beside raw COPY (bench/ingest/run.sh)",
        program: "bash",
        args: &["bench/ingest/run.sh"],
    },
    Task {
        name: "bench-api",
        about: "load on GET /v1/forecasts/{id}, beside the raw ceilings (bench/api/run.sh)",
        program: "bash",
        args: &["bench/api/run.sh"],
    },
    Task {
        name: "bench-faults",
        about: "the full-size fault runs whose small versions CI runs (bench/faults/run.sh)",
        program: "bash",
        args: &["bench/faults/run.sh"],
    },
    Task {
        name: "bench-newuser",
        about: "a new user's first hour on a fresh clone, one PASS/FAIL per check (bench/newuser/run.sh)",
        program: "bash",
        args: &["bench/newuser/run.sh"],
    },
];

fn root() -> PathBuf {
    // tools/xtask → the repository root.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn usage() -> String {
    let mut out = String::from("usage: cargo xtask <task> [arguments passed on]\n\ntasks:\n");
    for t in TASKS {
        out.push_str(&format!("  {:<16} {}\n", t.name, t.about));
    }
    out
}

fn find(name: &str) -> Option<&'static Task> {
    TASKS.iter().find(|t| t.name == name)
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(name) = args.next() else {
        eprint!("{}", usage());
        return ExitCode::from(2);
    };
    if matches!(name.as_str(), "help" | "-h" | "--help") {
        print!("{}", usage());
        return ExitCode::SUCCESS;
    }
    let Some(task) = find(&name) else {
        eprint!("xtask: no task {name:?}\n\n{}", usage());
        return ExitCode::from(2);
    };
    let status = Command::new(task.program)
        .args(task.args)
        .args(args)
        .current_dir(root())
        .status();
    match status {
        Ok(s) if s.success() => ExitCode::SUCCESS,
        Ok(s) => ExitCode::from(u8::try_from(s.code().unwrap_or(1)).unwrap_or(1)),
        Err(e) => {
            eprintln!("xtask: could not start {}: {e}", task.program);
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_script_a_task_names_exists() {
        for t in TASKS {
            if t.program == "bash" {
                let script = root().join(t.args[0]);
                assert!(
                    script.is_file(),
                    "{}: {} is missing",
                    t.name,
                    script.display()
                );
            }
        }
    }

    #[test]
    fn every_benchmark_has_a_task() {
        for entry in std::fs::read_dir(root().join("bench")).expect("bench/") {
            let dir = entry.expect("an entry").path();
            if dir.join("run.sh").is_file() {
                let name = format!(
                    "bench-{}",
                    dir.file_name().unwrap_or_default().to_string_lossy()
                );
                assert!(find(&name).is_some(), "no task for {}", dir.display());
            }
        }
    }

    #[test]
    fn names_are_unique_and_listed() {
        let text = usage();
        for (i, t) in TASKS.iter().enumerate() {
            assert!(
                TASKS[i + 1..].iter().all(|u| u.name != t.name),
                "{}",
                t.name
            );
            assert!(text.contains(t.name));
        }
        assert!(find("no-such-task").is_none());
    }
}
