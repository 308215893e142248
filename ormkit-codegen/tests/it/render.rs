use ormkit_codegen::{CodegenError, Config};
use ormkit_schema::migrations::discover;
use ormkit_schema::{
    Column, QualifiedName, Relation, RelationKind, SchemaLock, SchemaModel, TypeRef,
};
use std::path::Path;
use syn::visit::Visit;

fn repo_root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap()
}

fn reference() -> (SchemaLock, Vec<ormkit_schema::migrations::Migration>) {
    let text = std::fs::read_to_string(repo_root().join("schema.lock")).unwrap();
    let lock = SchemaLock::parse(&text, "schema.lock").unwrap();
    let migrations = discover(&repo_root().join("migrations")).unwrap();
    (lock, migrations)
}

fn column(name: &str, ty: &str, nullable: bool) -> Column {
    Column {
        name: name.into(),
        ty: ty.parse().unwrap(),
        nullable,
        default: None,
        identity: None,
        generated: None,
        comment: None,
    }
}

fn table(name: &str, columns: Vec<Column>) -> Relation {
    Relation {
        name: QualifiedName::new("public", name),
        kind: RelationKind::Table,
        comment: None,
        columns,
        primary_key: None,
        unique: vec![],
        foreign_keys: vec![],
        checks: vec![],
        indexes: vec![],
    }
}

/// Every macro invocation in a file but ormkit's own (`entity!`, `pg_enum!`,
/// `pg_composite!`), whose input holds no macro invocation either: generated code contains
/// no other macro, so nothing taken from a SQL name (`include!(…)`, say) can ever run.
#[derive(Default)]
struct Macros(Vec<String>);

const ORMKIT_MACROS: &[&str] = &[
    ":: ormkit :: entity",
    ":: ormkit :: pg_enum",
    ":: ormkit :: pg_composite",
];

/// Whether `tokens` hold a `name!` anywhere (a `!` after an identifier).
fn invokes_a_macro(tokens: proc_macro2::TokenStream) -> bool {
    let mut previous_ident = false;
    for tree in tokens {
        match tree {
            proc_macro2::TokenTree::Group(g) => {
                if invokes_a_macro(g.stream()) {
                    return true;
                }
                previous_ident = false;
            }
            proc_macro2::TokenTree::Punct(p) if p.as_char() == '!' && previous_ident => {
                return true
            }
            proc_macro2::TokenTree::Ident(_) => previous_ident = true,
            _ => previous_ident = false,
        }
    }
    false
}

impl<'ast> Visit<'ast> for Macros {
    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        let path = quote::ToTokens::to_token_stream(&mac.path).to_string();
        if path == ":: ormkit :: __with_orm" {
            // The feature gate takes the entity's name.
            mac.parse_body::<syn::Ident>()
                .expect("the gate names a type");
        } else if !ORMKIT_MACROS.contains(&path.as_str()) || invokes_a_macro(mac.tokens.clone()) {
            self.0.push(path);
        }
    }
}

#[test]
fn reference_schema_snapshot() {
    let (lock, migrations) = reference();
    let code = Config::new().render_lock(&lock, &migrations).unwrap();
    insta::assert_snapshot!("reference_schema", code);
}

#[test]
fn output_is_deterministic_and_parses_without_macros() {
    let (lock, migrations) = reference();
    let first = Config::new().render_lock(&lock, &migrations).unwrap();
    let second = Config::new().render_lock(&lock, &migrations).unwrap();
    assert_eq!(first, second);
    assert!(first.starts_with(ormkit_codegen::HEADER));
    let file = syn::parse_file(&first).expect("generated code parses");
    let mut macros = Macros::default();
    macros.visit_file(&file);
    assert_eq!(macros.0, Vec::<String>::new());
}

#[test]
fn hostile_names_snapshot() {
    let mut hostile = table(
        "\"; DROP TABLE users; --",
        vec![
            column("include!(\"/etc/passwd\")", "text", true),
            column("*/ fn evil() {} /*", "int4", false),
            column("someValue", "text", true),
            column("some_value", "text", true),
            column("type", "text", true),
            column("self", "text", true),
            column("Self", "text", true),
            column("crate", "text", true),
            column("9lives", "int4", true),
            column("", "int4", true),
        ],
    );
    hostile.comment = Some("*/ #![doc = \"x\"] \n ```rust\n fn main() {}".into());
    let model = SchemaModel {
        schemas: vec!["public".into()],
        relations: vec![hostile],
        ..SchemaModel::default()
    };
    let lock = SchemaLock::new(vec![], model);
    let code = Config::new().render_lock(&lock, &[]).unwrap();
    let file = syn::parse_file(&code).expect("generated code parses");
    let mut macros = Macros::default();
    macros.visit_file(&file);
    assert!(macros.0.is_empty(), "{:?}", macros.0);
    insta::assert_snapshot!("hostile_names", code);
}

#[test]
fn unmapped_types_name_the_column_and_the_override() {
    let model = SchemaModel {
        schemas: vec!["public".into()],
        relations: vec![table("docs", vec![column("body", "xml", false)])],
        ..SchemaModel::default()
    };
    let lock = SchemaLock::new(vec![], model);
    let err = Config::new().render_lock(&lock, &[]).unwrap_err();
    assert!(matches!(err, CodegenError::UnmappedType { .. }));
    let text = err.to_string();
    assert!(text.contains("public.docs.body"), "{text}");
    assert!(text.contains("`xml`"), "{text}");
    assert!(text.contains("type_override(\"xml\""), "{text}");

    let code = Config::new()
        .type_override("xml", "String")
        .render_lock(&lock, &[])
        .unwrap();
    assert!(code.contains("pub body: String"), "{code}");
    let code = Config::new()
        .column_override("public.docs.body", "my_crate::Xml")
        .render_lock(&lock, &[])
        .unwrap();
    assert!(code.contains("pub body: my_crate::Xml"), "{code}");
}

#[test]
fn options_change_the_mapping() {
    let model = SchemaModel {
        schemas: vec!["public".into()],
        relations: vec![table(
            "events",
            vec![
                column("at", "timestamptz", false),
                column("tags", "text[]", true),
            ],
        )],
        ..SchemaModel::default()
    };
    let lock = SchemaLock::new(vec![], model);
    let code = Config::new()
        .time_crate(ormkit_codegen::TimeCrate::Time)
        .non_null_array_elements(true)
        .serde(true)
        .render_lock(&lock, &[])
        .unwrap();
    assert!(
        code.contains("pub at: ::ormkit::time::OffsetDateTime"),
        "{code}"
    );
    assert!(code.contains("pub tags: Option<Vec<String>>"), "{code}");
    assert!(code.contains("::ormkit::serde::Serialize"), "{code}");
    let _ = TypeRef::builtin("int4");
}
