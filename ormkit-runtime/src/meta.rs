//! Static metadata about generated entities: what the query builder, the repository and
//! schema validation read instead of re-parsing SQL.

/// What kind of relation an entity maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RelationKind {
    /// An ordinary table.
    Table,
    /// A partitioned table's parent.
    PartitionedTable,
    /// A view (read-only).
    View,
    /// A materialized view (read-only).
    MaterializedView,
}

/// A generated entity's table or view.
#[derive(Debug)]
pub struct EntityMeta {
    /// The schema, exactly as in the database.
    pub schema: &'static str,
    /// The table's name, exactly as in the database.
    pub name: &'static str,
    /// `"schema"."name"`, quoted, ready to splice into SQL.
    pub qualified: &'static str,
    /// Table, view, ….
    pub kind: RelationKind,
    /// Columns in table order.
    pub columns: &'static [ColumnMeta],
    /// Primary-key column names in key order (empty without a key).
    pub primary_key: &'static [&'static str],
    /// Foreign keys declared on this table.
    pub foreign_keys: &'static [ForeignKeyMeta],
    /// Every column, quoted and comma-separated: the `SELECT` list of a row.
    pub select_list: &'static str,
    /// `SELECT <all columns> FROM <table> WHERE <key> = $1 …`, empty without a key.
    pub select_by_key: &'static str,
    /// `DELETE FROM <table> WHERE <key> = $1 …`, empty without a key.
    pub delete_by_key: &'static str,
    /// `COMMENT ON TABLE`, if any.
    pub comment: Option<&'static str>,
    /// The enum types its columns use (directly, as array elements or under a domain), with
    /// the labels the code was generated with: what `SchemaValidator::validate_entity`
    /// checks them against.
    pub enums: &'static [EnumMeta],
}

/// A PostgreSQL enum type as the generated code knows it.
#[derive(Debug)]
pub struct EnumMeta {
    /// The type's schema.
    pub schema: &'static str,
    /// The type's name.
    pub name: &'static str,
    /// Its labels, in declaration order, exactly as written.
    pub labels: &'static [&'static str],
}

impl EntityMeta {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&'static ColumnMeta> {
        self.columns.iter().find(|c| c.name == name)
    }
}

/// One column of an entity.
#[derive(Debug)]
pub struct ColumnMeta {
    /// The column's exact name.
    pub name: &'static str,
    /// The name of the Rust field it maps to.
    pub field: &'static str,
    /// Its PostgreSQL type as the lock writes it (`int4`, `text[]`, `public.mood`).
    pub sql_type: &'static str,
    /// Whether it can hold NULL.
    pub nullable: bool,
    /// Whether an INSERT may leave it out (a default or identity BY DEFAULT).
    pub has_default: bool,
    /// Whether the database refuses writes to it (identity ALWAYS, generated).
    pub read_only: bool,
    /// Whether it is part of the primary key.
    pub primary_key: bool,
}

/// A foreign key, from the referencing side.
#[derive(Debug)]
pub struct ForeignKeyMeta {
    /// The constraint's name.
    pub name: &'static str,
    /// The referencing columns.
    pub columns: &'static [&'static str],
    /// The referenced table's schema.
    pub references_schema: &'static str,
    /// The referenced table's name.
    pub references_table: &'static str,
    /// The referenced columns, paired with `columns`.
    pub referenced_columns: &'static [&'static str],
}
