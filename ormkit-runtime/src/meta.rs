//! Static metadata about generated entities: what the statement layer, the query builder and
//! schema validation read. Generated code writes it as data; every SQL statement is built
//! from it by the runtime's statement layer.

pub use ormkit_schema::RelationKind;

/// A generated entity's table or view.
#[derive(Debug)]
pub struct EntityMeta {
    /// The schema, exactly as in the database.
    pub schema: &'static str,
    /// The table's name, exactly as in the database.
    pub name: &'static str,
    /// Table, view, ….
    pub kind: RelationKind,
    /// Columns in table order: the order rows are selected and decoded in.
    pub columns: &'static [ColumnMeta],
    /// Primary-key column names in key order (empty without a key).
    pub primary_key: &'static [&'static str],
    /// Foreign keys declared on this table.
    pub foreign_keys: &'static [ForeignKeyMeta],
    /// `COMMENT ON TABLE`, if any.
    pub comment: Option<&'static str>,
    /// The enum types its columns use (directly, as array elements or under a domain), with
    /// the labels the code was generated with: what `SchemaValidator::validate_entity`
    /// checks them against.
    pub enums: &'static [&'static EnumMeta],
}

impl EntityMeta {
    /// The column called `name`.
    pub fn column(&self, name: &str) -> Option<&'static ColumnMeta> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// `"schema"."name"`, quoted, as statements name the table.
    pub fn qualified(&'static self) -> &'static str {
        &crate::statement::sql(self).table
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
    /// The SQL type values bound for it are cast to (`$1::public.citext`), when binding them
    /// as their Rust type would change their meaning: a `String` for a `citext` column (which
    /// must compare case-insensitively), or for a type read and written as text.
    pub cast: Option<&'static str>,
    /// Whether it is read as text (`"col"::text`) and written as text cast to its type: a
    /// type without a binary mapping, given a `String` (`tsvector`, `xml`, …).
    pub text_form: bool,
}

impl ColumnMeta {
    /// A NOT NULL, writable column without a default, named `name` in SQL and `field` in
    /// Rust: `ColumnMeta::new("email", "email", "text")`, refined with the flag methods below
    /// (all `const`, for generated statics).
    pub const fn new(name: &'static str, field: &'static str, sql_type: &'static str) -> Self {
        ColumnMeta {
            name,
            field,
            sql_type,
            nullable: false,
            has_default: false,
            read_only: false,
            primary_key: false,
            cast: None,
            text_form: false,
        }
    }

    /// Values bound for it are cast to `sql_type`.
    pub const fn cast(mut self, sql_type: &'static str) -> Self {
        self.cast = Some(sql_type);
        self
    }

    /// It is read as text and written as text cast to its type (which [`cast`](Self::cast)
    /// names).
    pub const fn text_form(mut self) -> Self {
        self.text_form = true;
        self
    }

    /// It can hold NULL.
    pub const fn nullable(mut self) -> Self {
        self.nullable = true;
        self
    }

    /// An INSERT may leave it out.
    pub const fn has_default(mut self) -> Self {
        self.has_default = true;
        self
    }

    /// Only the database writes it.
    pub const fn read_only(mut self) -> Self {
        self.read_only = true;
        self
    }

    /// It is part of the primary key.
    pub const fn key(mut self) -> Self {
        self.primary_key = true;
        self
    }
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

impl EnumMeta {
    /// The enum `schema.name` with `labels`.
    pub const fn new(
        schema: &'static str,
        name: &'static str,
        labels: &'static [&'static str],
    ) -> Self {
        EnumMeta {
            schema,
            name,
            labels,
        }
    }
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

impl ForeignKeyMeta {
    /// The foreign key `name` from `columns` to `referenced_columns` of `schema.table`.
    pub const fn new(
        name: &'static str,
        columns: &'static [&'static str],
        (references_schema, references_table): (&'static str, &'static str),
        referenced_columns: &'static [&'static str],
    ) -> Self {
        ForeignKeyMeta {
            name,
            columns,
            references_schema,
            references_table,
            referenced_columns,
        }
    }
}
