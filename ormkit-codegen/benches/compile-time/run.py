#!/usr/bin/env python3
"""Compile time of generated code: ormkit against Diesel on the same 300-table schema (issue 8).

Writes two standalone consumer crates into a scratch directory (default
`<repo>/target/compile-time/`), each its own workspace with its own CARGO_TARGET_DIR
(`<scratch>/target/<kind>`, reused across invocations, never shared between kinds):

* `ormkit/`: `build.rs` calls `ormkit_codegen::generate()` on `migrations/00001_schema/up.sql`,
  `src/lib.rs` has `ormkit::include_entities!()` and a few functions using `T0`;
* `diesel/`: the same tables as `diesel print-schema` would write them (`src/schema.rs`) plus
  `Queryable`/`Selectable` row and `Insertable` structs per table (`src/models.rs`).

Then, after a warm-up, it measures N rounds, interleaved (ormkit, diesel, ormkit, diesel, ...):
`touch src/lib.rs` + `cargo check`, `touch src/lib.rs` + `cargo build`, and for ormkit also
"append a comment to the migration + `cargo build`" (the build script re-runs the whole online
pipeline on a temporary database on DATABASE_URL's server; the migration is restored and rebuilt,
untimed, afterwards). It prints a Markdown table for BENCHMARKS.md.

The schema mirrors `ormkit-codegen/examples/schema_300.rs` (`migration()`); unless
`--no-sql-check`, the script runs that example with `--print-sql` and refuses to go on if the
two differ. Python 3 standard library only. See README.md beside this file.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[2]
EXAMPLE_CMD = ["cargo", "run", "-q", "-p", "ormkit-codegen", "--example", "schema_300", "--", "--print-sql"]

ORMKIT_PKG = "bench-ormkit-schema"
DIESEL_PKG = "bench-diesel-schema"

# ---------------------------------------------------------------------------------------------
# The schema: one description, rendered as SQL (exactly the example's `migration()`) and as
# Diesel code (what `diesel print-schema` emits, plus model structs).
# ---------------------------------------------------------------------------------------------

ENUM_NAME = "status"
ENUM_LABELS = ["new", "active", "gone"]

# (column, SQL definition, Diesel SQL type as print-schema writes it, Rust row field type,
#  Rust insert field type or None when the column is not inserted)
COLUMNS = [
    ("id", "bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "Int8", "i64", None),
    ("name", "text NOT NULL", "Text", "String", "String"),
    ("note", "text", "Nullable<Text>", "Option<String>", "Option<String>"),
    ("amount", "numeric(12,2)", "Nullable<Numeric>", "Option<BigDecimal>", "Option<BigDecimal>"),
    ("created_at", "timestamptz NOT NULL DEFAULT now()", "Timestamptz", "DateTime<Utc>",
     "Option<DateTime<Utc>>"),
    ("tags", "text[]", "Nullable<Array<Nullable<Text>>>", "Option<Vec<Option<String>>>",
     "Option<Vec<Option<String>>>"),
    ("status", "status NOT NULL DEFAULT 'new'", "Status", "Status", "Option<Status>"),
    ("payload", "jsonb", "Nullable<Jsonb>", "Option<serde_json::Value>",
     "Option<serde_json::Value>"),
    ("flag", "bool NOT NULL DEFAULT false", "Bool", "bool", "Option<bool>"),
    # parent_id: `bigint` in t0, `bigint REFERENCES t{t-1} (id)` after.
    ("parent_id", None, "Nullable<Int8>", "Option<i64>", "Option<i64>"),
]


def parent_sql(t: int) -> str:
    return f"bigint REFERENCES t{t - 1} (id)" if t > 0 else "bigint"


def schema_sql(tables: int) -> str:
    """The migration, byte for byte what `examples/schema_300.rs`'s `migration()` returns."""
    labels = ", ".join(f"'{label}'" for label in ENUM_LABELS)
    out = [f"CREATE TYPE {ENUM_NAME} AS ENUM ({labels});\n"]
    for t in range(tables):
        cols = ", ".join(
            f"{name} {definition if definition is not None else parent_sql(t)}"
            for name, definition, *_ in COLUMNS
        )
        out.append(f"CREATE TABLE t{t} ({cols});\n")
    return "".join(out)


def diesel_schema_rs(tables: int, allow: str) -> str:
    """`src/schema.rs` as `diesel print-schema` writes it for this schema.

    `allow` decides the `allow_tables_to_appear_in_same_query!` calls: "all" is print-schema's
    output (its default, `all_tables`, and also `fk_related_tables`, because the foreign keys
    chain all tables into one group): one call over every table, which expands to about ten
    impls per pair of tables (~450 k for 300). "fk" is one call per foreign key, the pair
    `joinable!` joins, as one writes it by hand (print-schema with `none`) when "all" is too slow
    to compile.
    """
    out = [
        "// @generated automatically by Diesel CLI.\n\n",
        "pub mod sql_types {\n",
        "    #[derive(diesel::query_builder::QueryId, Clone, diesel::sql_types::SqlType)]\n",
        f'    #[diesel(postgres_type(name = "{ENUM_NAME}"))]\n',
        "    pub struct Status;\n",
        "}\n",
    ]
    for t in range(tables):
        out.append("\ndiesel::table! {\n")
        out.append("    use diesel::sql_types::*;\n")
        out.append("    use super::sql_types::Status;\n\n")
        out.append(f"    t{t} (id) {{\n")
        for name, _, diesel_type, _, _ in COLUMNS:
            out.append(f"        {name} -> {diesel_type},\n")
        out.append("    }\n}\n")
    out.append("\n")
    for t in range(1, tables):
        out.append(f"diesel::joinable!(t{t} -> t{t - 1} (parent_id));\n")
    if allow == "all":
        out.append("\ndiesel::allow_tables_to_appear_in_same_query!(\n")
        for t in range(tables):
            out.append(f"    t{t},\n")
        out.append(");\n")
    else:
        out.append("\n")
        for t in range(1, tables):
            out.append(f"diesel::allow_tables_to_appear_in_same_query!(t{t - 1}, t{t});\n")
    return "".join(out)


def diesel_models_rs(tables: int) -> str:
    """`src/models.rs`: the enum, and per table a row struct and an insert struct."""
    variants = [label.capitalize() for label in ENUM_LABELS]
    to_sql = "".join(
        f'            Status::{v} => b"{label}",\n' for v, label in zip(variants, ENUM_LABELS)
    )
    from_sql = "".join(
        f'            b"{label}" => Ok(Status::{v}),\n' for v, label in zip(variants, ENUM_LABELS)
    )
    out = [
        "//! Row and insert structs for every table, as one would write them for `schema.rs`.\n\n",
        "use crate::schema::*;\n",
        "use bigdecimal::BigDecimal;\n",
        "use chrono::{DateTime, Utc};\n",
        "use diesel::deserialize::{self, FromSql, FromSqlRow};\n",
        "use diesel::expression::AsExpression;\n",
        "use diesel::pg::{Pg, PgValue};\n",
        "use diesel::prelude::*;\n",
        "use diesel::serialize::{self, IsNull, Output, ToSql};\n",
        "use std::io::Write;\n\n",
        f"/// The `{ENUM_NAME}` enum.\n",
        "#[derive(Debug, Clone, Copy, PartialEq, Eq, AsExpression, FromSqlRow)]\n",
        "#[diesel(sql_type = sql_types::Status)]\n",
        "pub enum Status {\n",
        "".join(f"    {v},\n" for v in variants),
        "}\n\n",
        "impl ToSql<sql_types::Status, Pg> for Status {\n",
        "    fn to_sql<'b>(&'b self, out: &mut Output<'b, '_, Pg>) -> serialize::Result {\n",
        "        out.write_all(match *self {\n",
        to_sql,
        "        })?;\n",
        "        Ok(IsNull::No)\n",
        "    }\n",
        "}\n\n",
        "impl FromSql<sql_types::Status, Pg> for Status {\n",
        "    fn from_sql(bytes: PgValue<'_>) -> deserialize::Result<Self> {\n",
        "        match bytes.as_bytes() {\n",
        from_sql,
        '            _ => Err("unrecognized status".into()),\n',
        "        }\n",
        "    }\n",
        "}\n",
    ]
    for t in range(tables):
        out.append(f"\n/// A row of `t{t}`.\n")
        out.append("#[derive(Debug, Clone, PartialEq, Queryable, Selectable)]\n")
        out.append(f"#[diesel(table_name = t{t}, check_for_backend(Pg))]\n")
        out.append(f"pub struct T{t} {{\n")
        for name, _, _, row_type, _ in COLUMNS:
            out.append(f"    pub {name}: {row_type},\n")
        out.append("}\n\n")
        out.append(f"/// A new row of `t{t}` (`None`: the column's default).\n")
        out.append("#[derive(Debug, Clone, Default, Insertable)]\n")
        out.append(f"#[diesel(table_name = t{t})]\n")
        out.append(f"pub struct NewT{t} {{\n")
        for name, _, _, _, insert_type in COLUMNS:
            if insert_type is not None:
                out.append(f"    pub {name}: {insert_type},\n")
        out.append("}\n")
    return "".join(out)


# ---------------------------------------------------------------------------------------------
# The consumer crates
# ---------------------------------------------------------------------------------------------

PROFILE = """
# The repository's dev profile, so both crates compile like the workspace does.
[profile.dev]
debug = "line-tables-only"

[profile.dev.package."*"]
debug = false
"""


def toml_str(value: str) -> str:
    return json.dumps(value)  # a TOML basic string for paths (no control characters)


def ormkit_files(tables: int) -> dict[str, str]:
    cargo_toml = f"""# Written by ormkit-codegen/benches/compile-time/run.py; rewritten on every run.
[package]
name = "{ORMKIT_PKG}"
version = "0.1.0"
edition = "2021"
publish = false

# A workspace of its own: not a member of the repository's.
[workspace]

[dependencies]
ormkit = {{ path = {toml_str(str(REPO / "ormkit-runtime"))} }}
tokio = {{ version = "1", features = ["rt", "macros"] }}

[build-dependencies]
ormkit-codegen = {{ path = {toml_str(str(REPO / "ormkit-codegen"))} }}
{PROFILE}"""
    build_rs = """fn main() {
    if let Err(err) = ormkit_codegen::generate() {
        eprintln!("error: {err}");
        std::process::exit(1);
    }
}
"""
    lib_rs = f"""//! {tables} generated entities, and a little code that uses one of them.

ormkit::include_entities!();

use entities::{{t0, NewT0, T0}};
use ormkit::sqlx::PgPool;
use ormkit::Repository;

/// A repository for `t0`.
pub fn t0_repository(pool: &PgPool) -> Repository<'_, T0> {{
    Repository::<T0>::new(pool)
}}

/// The ten newest `t0` rows with this name.
pub async fn t0_by_name(pool: &PgPool, name: &str) -> ormkit::Result<Vec<T0>> {{
    T0::query()
        .filter(t0::NAME.eq(name.to_string()))
        .order_by(t0::CREATED_AT.desc())
        .limit(10)
        .fetch_all(pool)
        .await
}}

/// Inserts a `t0` row, returning it.
pub async fn insert_t0(pool: &PgPool, new: NewT0) -> ormkit::Result<T0> {{
    t0_repository(pool).insert(new).await
}}
"""
    return {
        "Cargo.toml": cargo_toml,
        "build.rs": build_rs,
        "src/lib.rs": lib_rs,
        "migrations/00001_schema/up.sql": schema_sql(tables),
    }


def diesel_files(tables: int, diesel_req: str, allow: str) -> dict[str, str]:
    recursion = (
        "\n// `allow_tables_to_appear_in_same_query!` recurses once per table: 300 need more than 128.\n"
        f'#![recursion_limit = "{max(128, 2 * tables)}"]\n'
        if allow == "all" else ""
    )
    cargo_toml = f"""# Written by ormkit-codegen/benches/compile-time/run.py; rewritten on every run.
[package]
name = "{DIESEL_PKG}"
version = "0.1.0"
edition = "2021"
publish = false

# A workspace of its own: not a member of the repository's.
[workspace]

[dependencies]
# postgres_backend: the Pg backend and its types without linking libpq.
diesel = {{ version = "{diesel_req}", default-features = false, features = ["postgres_backend", "chrono", "serde_json", "numeric"] }}
bigdecimal = "0.4"
chrono = {{ version = "0.4", default-features = false, features = ["clock", "std"] }}
serde_json = "1"
{PROFILE}"""
    lib_rs = f"""//! {tables} tables in Diesel's `table!` + derives, and a little code that uses one of them.
{recursion}
pub mod models;
pub mod schema;

use diesel::pg::Pg;
use diesel::prelude::*;
use models::{{NewT0, T0}};
use schema::{{t0, t1}};

/// The SQL of "the ten newest `t0` rows with this name".
pub fn t0_by_name_sql(name: &str) -> String {{
    let query = t0::table
        .filter(t0::name.eq(name))
        .order(t0::created_at.desc())
        .limit(10)
        .select(T0::as_select());
    diesel::debug_query::<Pg, _>(&query).to_string()
}}

/// The SQL of inserting a `t0` row, returning it.
pub fn insert_t0_sql(new: &NewT0) -> String {{
    let query = diesel::insert_into(t0::table)
        .values(new)
        .returning(T0::as_returning());
    diesel::debug_query::<Pg, _>(&query).to_string()
}}

/// The SQL of joining `t1` rows to their `t0` parent.
pub fn t1_with_parent_sql() -> String {{
    let query = t1::table.inner_join(t0::table).select((t1::id, t0::name));
    diesel::debug_query::<Pg, _>(&query).to_string()
}}
"""
    return {
        "Cargo.toml": cargo_toml,
        "src/lib.rs": lib_rs,
        "src/schema.rs": diesel_schema_rs(tables, allow),
        "src/models.rs": diesel_models_rs(tables),
    }


def write_if_changed(path: Path, text: str) -> bool:
    """Writes only when the bytes differ, so mtimes (and cargo's fingerprints) stay put."""
    data = text.encode()
    if path.exists() and path.read_bytes() == data:
        return False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return True


# ---------------------------------------------------------------------------------------------
# Running cargo
# ---------------------------------------------------------------------------------------------

UNIT_RE = re.compile(r"^\s*(Compiling|Checking)\s+(\S+)\s+v", re.M)


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


class Kind:
    def __init__(self, name: str, crate: Path, target: Path, pkg: str, env: dict[str, str]):
        self.name, self.crate, self.target, self.pkg = name, crate, target, pkg
        self.env = env

    def cargo(self, *args: str, extra_env: dict[str, str] | None = None, what: str = "") -> tuple[float, list[str], str]:
        """Runs cargo in the crate; returns (wall seconds, units cargo compiled, stderr)."""
        env = dict(self.env)
        env.update(extra_env or {})
        cmd = ["cargo", *args]
        start = time.monotonic()
        proc = subprocess.run(cmd, cwd=self.crate, env=env, stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True)
        elapsed = time.monotonic() - start
        if proc.returncode != 0:
            log(proc.stdout[-5000:])
            log(proc.stderr[-20000:])
            raise SystemExit(f"{self.name}: `{' '.join(cmd)}` ({what}) failed with {proc.returncode}")
        units = [m.group(2) for m in UNIT_RE.finditer(proc.stderr)]
        return elapsed, units, proc.stderr

    def touch(self, rel: str) -> None:
        os.utime(self.crate / rel)


def clean_env(target: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ORMKIT_")}
    env.pop("DATABASE_URL", None)
    env["CARGO_TARGET_DIR"] = str(target)
    env["CARGO_TERM_COLOR"] = "never"
    env["CARGO_TERM_PROGRESS_WHEN"] = "never"
    return env


def capture(cmd: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    return subprocess.run(cmd, cwd=cwd, env=env, check=True, stdout=subprocess.PIPE,
                          text=True).stdout.strip()


def locked_version(lock: Path, name: str) -> str:
    if not lock.exists():
        return "?"
    versions = re.findall(rf'\[\[package\]\]\nname = "{re.escape(name)}"\nversion = "([^"]+)"',
                          lock.read_text())
    return ", ".join(versions) or "?"


def count_lines(path: Path) -> int:
    with path.open("rb") as f:
        return sum(1 for _ in f)


def ormkit_generated_file(kind: Kind) -> Path:
    candidates = list((kind.target / "debug" / "build").glob(f"{kind.pkg}-*/out/ormkit_entities.rs"))
    if not candidates:
        raise SystemExit(f"no ormkit_entities.rs under {kind.target}/debug/build")
    return max(candidates, key=lambda p: p.stat().st_mtime)


# ---------------------------------------------------------------------------------------------
# Statistics and the report
# ---------------------------------------------------------------------------------------------


def fmt_s(x: float) -> str:
    return f"{x:.2f} s" if x < 10 else f"{x:.1f} s"


def fmt_bytes(n: int) -> str:
    return f"{n / 1e6:.1f} MB" if n >= 1e6 else f"{n / 1e3:.0f} kB"


def summary(xs: list[float]) -> str:
    if not xs:
        return "—"
    med = statistics.median(xs)
    if len(xs) == 1:
        return fmt_s(med)
    return f"{fmt_s(med)} ({min(xs):.2f}–{max(xs):.2f})"


def ratio(a: list[float], b: list[float]) -> str:
    if not a or not b:
        return "—"
    return f"**{statistics.median(a) / statistics.median(b):.2f}×**"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=3, help="measured rounds (default 3)")
    ap.add_argument("--scratch", type=Path, default=REPO / "target" / "compile-time",
                    help="where the crates and their target dirs live (default <repo>/target/compile-time)")
    ap.add_argument("--tables", type=int, default=300,
                    help="tables in the schema (default 300; other values skip the SQL check)")
    ap.add_argument("--only", choices=["ormkit", "diesel"], help="measure one kind only")
    ap.add_argument("--database-url",
                    default=os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres",
                    help="server for ormkit's build-time temporary database (default $DATABASE_URL, "
                         "else postgres://postgres@127.0.0.1:5432/postgres)")
    ap.add_argument("--diesel-req", default="2.2", help='diesel version requirement (default "2.2")')
    ap.add_argument("--diesel-allow", choices=["fk", "all"], default="fk",
                    help="allow_tables_to_appear_in_same_query!: one call per foreign key (fk, the "
                         "default) or print-schema's one call over all tables (all; very slow)")
    ap.add_argument("--no-sql-check", action="store_true",
                    help="do not compare the SQL with `examples/schema_300.rs --print-sql`")
    args = ap.parse_args()
    if args.runs < 1:
        ap.error("--runs must be at least 1")

    scratch = args.scratch.resolve()
    kinds_wanted = [args.only] if args.only else ["ormkit", "diesel"]
    invocation = "python3 ormkit-codegen/benches/compile-time/run.py" + "".join(
        f" {a}" for a in sys.argv[1:])

    # 1. The schema, checked against the example.
    sql = schema_sql(args.tables)
    if args.tables == 300 and not args.no_sql_check:
        log(f"checking the SQL against `{' '.join(EXAMPLE_CMD)}` ...")
        example_sql = subprocess.run(EXAMPLE_CMD, cwd=REPO, check=True, stdout=subprocess.PIPE,
                                     text=True).stdout
        if example_sql != sql:
            for i, (a, b) in enumerate(zip(example_sql.splitlines(), sql.splitlines())):
                if a != b:
                    log(f"first difference, line {i + 1}:\n  example: {a}\n  run.py:  {b}")
                    break
            raise SystemExit("run.py's schema differs from examples/schema_300.rs: keep them in sync")
        log("  same SQL")

    # 2. The crates.
    kinds: dict[str, Kind] = {}
    for name, pkg, files in [
        ("ormkit", ORMKIT_PKG, ormkit_files(args.tables) if "ormkit" in kinds_wanted else None),
        ("diesel", DIESEL_PKG, diesel_files(args.tables, args.diesel_req, args.diesel_allow) if "diesel" in kinds_wanted else None),
    ]:
        if files is None:
            continue
        crate, target = scratch / name, scratch / "target" / name
        changed = [rel for rel, text in files.items() if write_if_changed(crate / rel, text)]
        env = clean_env(target)
        if name == "ormkit":
            env["DATABASE_URL"] = args.database_url
            if not (crate / "Cargo.lock").exists():
                # Start from the repository's resolution: the same sqlx, tokio, ... versions.
                shutil.copy(REPO / "Cargo.lock", crate / "Cargo.lock")
            if "migrations/00001_schema/up.sql" in changed:
                (crate / "schema.lock").unlink(missing_ok=True)
        kinds[name] = Kind(name, crate, target, pkg, env)
        log(f"{name}: crate {crate}, CARGO_TARGET_DIR {target}" + (f" (wrote {', '.join(changed)})" if changed else ""))

    # 3. Warm-up: dependencies, the lock, and both profiles' artifacts.
    for kind in kinds.values():
        if kind.name == "ormkit" and not (kind.crate / "schema.lock").exists():
            log("ormkit: first build, writing schema.lock (ORMKIT_UPDATE_LOCK=1) ...")
            t, _, _ = kind.cargo("build", extra_env={"ORMKIT_UPDATE_LOCK": "1"}, what="lock")
            log(f"  {t:.1f} s")
        for step in ["build", "build", "check"]:
            log(f"{kind.name}: warm-up cargo {step} ...")
            t, units, _ = kind.cargo(step, what="warm-up")
            log(f"  {t:.1f} s ({len(units)} units)")

    # 4. Measured rounds, interleaved.
    results: dict[str, dict[str, list[float]]] = {k: {} for k in kinds}
    notes: list[str] = []
    loads: list[float] = []

    def measure(kind: Kind, label: str, args_: list[str]) -> None:
        loads.append(os.getloadavg()[0])
        t, units, _ = kind.cargo(*args_, what=label)
        results[kind.name].setdefault(label, []).append(t)
        extra = sorted(set(units) - {kind.pkg})
        if kind.pkg not in units:
            notes.append(f"{kind.name} {label}: cargo compiled nothing of {kind.pkg}?")
        if extra:
            notes.append(f"{kind.name} {label}: cargo also compiled {', '.join(extra)}")
        log(f"  {kind.name:6} {label:16} {t:7.2f} s" + (f"  (also compiled: {', '.join(extra)})" if extra else ""))

    migration = "migrations/00001_schema/up.sql"
    for r in range(args.runs):
        log(f"round {r + 1}/{args.runs}")
        for kind in kinds.values():
            kind.touch("src/lib.rs")
            measure(kind, "check", ["check"])
            kind.touch("src/lib.rs")
            measure(kind, "build", ["build"])
            if kind.name == "ormkit":
                path = kind.crate / migration
                original = path.read_text()
                generated = ormkit_generated_file(kind)
                before = generated.stat().st_mtime_ns
                try:
                    path.write_text(original + f"-- touched by run.py, round {r + 1}\n")
                    measure(kind, "migration build", ["build"])
                    # The migration is embedded: a re-run build script rewrites the file.
                    if ormkit_generated_file(kind).stat().st_mtime_ns == before:
                        notes.append(f"ormkit migration build, round {r + 1}: "
                                     "the generated file was not rewritten")
                finally:
                    path.write_text(original)
                # Restore (untimed): the build script re-runs on the original migration.
                kind.cargo("build", what="restore")
                kind.cargo("check", what="restore")

    # 5. Sizes.
    sizes: dict[str, dict[str, object]] = {}
    if "ormkit" in kinds:
        gen = ormkit_generated_file(kinds["ormkit"])
        lines = count_lines(gen)
        sizes["ormkit"] = {"file": str(gen), "lines": lines, "bytes": gen.stat().st_size,
                           "lines_per_column": lines / (args.tables * len(COLUMNS))}
    if "diesel" in kinds:
        crate = kinds["diesel"].crate / "src"
        files = {f: count_lines(crate / f) for f in ["schema.rs", "models.rs"]}
        sizes["diesel"] = {"files": files, "lines": sum(files.values()),
                           "bytes": sum((crate / f).stat().st_size for f in files),
                           "lines_per_column": sum(files.values()) / (args.tables * len(COLUMNS))}

    # 6. The report.
    any_kind = next(iter(kinds.values()))
    rustc = capture(["rustc", "-V"], any_kind.crate, any_kind.env)
    commit = capture(["git", "rev-parse", "--short", "HEAD"], REPO)
    if capture(["git", "status", "--porcelain", "--untracked-files=no"], REPO):
        commit += " (with uncommitted changes)"
    diesel_version = locked_version(kinds["diesel"].crate / "Cargo.lock", "diesel") if "diesel" in kinds else "—"
    today = _dt.date.today().isoformat()
    ok = results.get("ormkit", {})
    di = results.get("diesel", {})
    cols = args.tables * len(COLUMNS)

    md = []
    md.append(f"{today}, `{invocation}` ({args.runs} round{'s' if args.runs > 1 else ''}, interleaved), {rustc}, "
              f"diesel {diesel_version} (`allow_tables_to_appear_in_same_query!` "
              f"{'over all tables' if args.diesel_allow == 'all' else 'per foreign key'}), repository at {commit}, {os.cpu_count()} cores "
              f"({platform.machine()}), 1-min load average during the measured builds "
              f"{min(loads):.2f}–{max(loads):.2f}.\n")
    md.append(f"| {args.tables} tables × {len(COLUMNS)} columns | ormkit | Diesel | ormkit / Diesel |")
    md.append("| --- | --- | --- | --- |")
    md.append(f"| `cargo check` after `touch src/lib.rs`, median (range) | {summary(ok.get('check', []))} "
              f"| {summary(di.get('check', []))} | {ratio(ok.get('check', []), di.get('check', []))} |")
    md.append(f"| `cargo build` after `touch src/lib.rs` | {summary(ok.get('build', []))} "
              f"| {summary(di.get('build', []))} | {ratio(ok.get('build', []), di.get('build', []))} |")
    if "ormkit" in kinds:
        md.append(f"| `cargo build` after touching the migration (build script re-runs: temporary "
                  f"database, apply, introspect, render) | {summary(ok.get('migration build', []))} "
                  f"| — (Diesel: `diesel migration run` + `print-schema`, outside the build) | — |")
    o, d = sizes.get("ormkit"), sizes.get("diesel")
    o_txt = (f"`ormkit_entities.rs`: {o['lines']:,} lines, {fmt_bytes(o['bytes'])}; "
             f"{o['lines_per_column']:.1f} lines per column") if o else "—"
    d_txt = (f"`schema.rs` + `models.rs`: {d['lines']:,} lines, {fmt_bytes(d['bytes'])}; "
             f"{d['lines_per_column']:.1f} lines per column") if d else "—"
    size_ratio = f"{o['lines'] / d['lines']:.1f}× the lines" if o and d else "—"
    md.append(f"| code compiled for the {cols:,} columns | {o_txt} | {d_txt} | {size_ratio} |")
    raw = "; ".join(f"{k} {label}: " + ", ".join(f"{x:.2f}" for x in xs)
                    for k, by in results.items() for label, xs in by.items())
    md.append(f"\nEvery measurement, in seconds, in run order: {raw}.")
    if notes:
        md.append("\nNotes from the run: " + "; ".join(notes) + ".")
    report = "\n".join(md) + "\n"

    stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    out_json = scratch / f"results-{stamp}.json"
    out_json.write_text(json.dumps({
        "date": today, "command": invocation, "rustc": rustc, "diesel": diesel_version,
        "commit": commit, "diesel_allow": args.diesel_allow, "tables": args.tables, "runs": args.runs, "results": results,
        "sizes": sizes, "load_average": loads, "notes": notes,
    }, indent=2) + "\n")
    (scratch / f"results-{stamp}.md").write_text(report)
    log(f"\nresults: {out_json} (and .md)\n")
    print(report)
    return 0


if __name__ == "__main__":
    sys.exit(main())
