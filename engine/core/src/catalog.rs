//! Catalogs: `CREATE CATALOG polaris WITH ('type' = 'duckdb', 'path' = 'lake.duckdb')` makes
//! `polaris.db.table` a table of that DuckDB file (schema `db`), as Flink's Iceberg catalog
//! makes it a table of the lake; `USE CATALOG` and `USE` say where shorter names resolve.
//! A catalog table is a `duckdb` connector table whose options the catalog supplies.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use duckdb::Connection;
use weir_api::Span;

use crate::connectors::{edit_distance, resolve_path, Effect, OptionSpec};
use crate::sql::ddl::CatalogDecl;
use crate::sql::types::SqlType;
use crate::sql::{ColumnDef, TableDef};
use crate::{Error, Result};

/// Flink's built-in catalog and database: names in them are the session's own tables.
pub const DEFAULT_CATALOG: &str = "default_catalog";
pub const DEFAULT_DATABASE: &str = "default_database";

/// The options of `CREATE CATALOG ... WITH (...)`, declared once like a connector's.
pub const CATALOG_OPTIONS: &[OptionSpec] = &[
    OptionSpec {
        key: "type",
        required: true,
        effect: Effect::Honoured,
        help: "'duckdb' (Weir's stand-in for Iceberg and Polaris catalogs)",
    },
    OptionSpec {
        key: "path",
        required: true,
        effect: Effect::Honoured,
        help: "the DuckDB database file; created when a table is; relative paths resolve against the script's folder",
    },
    OptionSpec {
        key: "default-database",
        required: false,
        effect: Effect::Honoured,
        help: "the database (DuckDB schema) that USE CATALOG selects; default 'main'",
    },
];

/// Catalog types Flink has that Weir recognises but does not run.
const PLANNED_TYPES: &[&str] = &["iceberg", "hive", "jdbc", "paimon", "generic_in_memory"];

/// A declared catalog.
#[derive(Debug, Clone)]
pub struct CatalogDef {
    pub name: String,
    /// The DuckDB file, absolute.
    pub path: PathBuf,
    pub default_database: String,
    pub span: Span,
}

impl CatalogDef {
    /// Checks a `CREATE CATALOG` against [`CATALOG_OPTIONS`]; relative paths resolve
    /// against `base`.
    pub fn from_decl(decl: &CatalogDecl, base: &Path) -> Result<Self> {
        let error = |option: &str, message: String, span: Span| Error::CatalogOption {
            catalog: decl.name.clone(),
            option: option.to_string(),
            message,
            span,
        };
        for (key, _, span) in &decl.options {
            if CATALOG_OPTIONS.iter().any(|o| o.key == key) {
                continue;
            }
            let keys: Vec<&str> = CATALOG_OPTIONS.iter().map(|o| o.key).collect();
            let hint = match keys.iter().min_by_key(|k| edit_distance(k, key)) {
                Some(best) if edit_distance(best, key) <= 3 => format!("did you mean '{best}'? "),
                _ => String::new(),
            };
            return Err(error(
                key,
                format!(
                    "not an option of a duckdb catalog; {hint}it takes: {}",
                    keys.join(", ")
                ),
                *span,
            ));
        }
        for required in CATALOG_OPTIONS.iter().filter(|o| o.required) {
            if decl.option(required.key).is_none() {
                return Err(error(
                    required.key,
                    format!("is required ({})", required.help),
                    decl.span,
                ));
            }
        }
        let (kind, kind_span) = decl.option("type").unwrap_or(("", decl.span));
        if !kind.eq_ignore_ascii_case("duckdb") {
            if PLANNED_TYPES.contains(&kind.to_ascii_lowercase().as_str()) {
                return Err(Error::Unsupported {
                    construct: format!(
                        "catalogs of type '{kind}' (Weir's stand-in for them is 'type' = 'duckdb')"
                    ),
                    span: kind_span,
                });
            }
            return Err(error(
                "type",
                format!("unknown catalog type '{kind}'; Weir has: duckdb"),
                kind_span,
            ));
        }
        let (path, path_span) = decl.option("path").unwrap_or(("", decl.span));
        if path.trim().is_empty() {
            return Err(error("path", "is empty".into(), path_span));
        }
        let default_database = decl
            .option("default-database")
            .map(|(v, _)| v.to_string())
            .unwrap_or_else(|| "main".into());
        let path = resolve_path(path, base);
        Ok(Self {
            name: decl.name.clone(),
            // Absolute, so that scripts in other folders (the job after an init file) and
            // reports name the same file.
            path: std::path::absolute(&path).unwrap_or(path),
            default_database,
            span: decl.span,
        })
    }
}

/// Where a name points in a catalog.
#[derive(Debug, Clone)]
pub struct Location {
    pub catalog: CatalogDef,
    pub database: String,
    pub table: String,
}

impl Location {
    /// The key of the table among those a session created: DuckDB names are
    /// case-insensitive.
    fn key(&self) -> String {
        format!(
            "{}.{}.{}",
            self.catalog.name,
            self.database.to_lowercase(),
            self.table.to_lowercase()
        )
    }

    /// `catalog.database.table`, as messages name it.
    pub fn name(&self) -> String {
        format!("{}.{}.{}", self.catalog.name, self.database, self.table)
    }
}

/// The catalogs of a session, the current catalog and database, and the catalog tables the
/// session has created (or planned to create: a script is planned whole before it runs).
#[derive(Debug, Clone, Default)]
pub struct Catalogs {
    defs: BTreeMap<String, CatalogDef>,
    /// `None`: Flink's `default_catalog`, the session's own tables.
    current: Option<String>,
    /// The current database of the current catalog (`None`: its default).
    database: Option<String>,
    created: HashMap<String, TableDef>,
    /// `catalog.database` (lower case) of databases created by the session.
    created_databases: BTreeSet<String>,
}

impl Catalogs {
    /// Applies `CREATE CATALOG`.
    pub fn define(&mut self, decl: &CatalogDecl, base: &Path) -> Result<()> {
        if decl.name == DEFAULT_CATALOG || self.defs.contains_key(&decl.name) {
            if decl.if_not_exists {
                return Ok(());
            }
            return Err(Error::Sql {
                message: format!("catalog '{}' already exists", decl.name),
                span: decl.span,
            });
        }
        let def = CatalogDef::from_decl(decl, base)?;
        self.defs.insert(def.name.clone(), def);
        Ok(())
    }

    /// The declared catalog `name`, or an error at `span` saying how to declare it.
    fn catalog(&self, name: &str, span: Span) -> Result<&CatalogDef> {
        self.defs.get(name).ok_or_else(|| {
            let declared = if self.defs.is_empty() {
                "none is declared".to_string()
            } else {
                format!(
                    "declared: {}",
                    self.defs.keys().cloned().collect::<Vec<_>>().join(", ")
                )
            };
            Error::Sql {
                message: format!(
                    "catalog '{name}' is not declared ({declared}): add CREATE CATALOG {name} WITH ('type' = 'duckdb', 'path' = '...'), or run an init file that does (weir run -i catalog.sql ...)"
                ),
                span,
            }
        })
    }

    /// Applies `USE CATALOG name` (`catalog`) or `USE [catalog.]database`.
    pub fn use_name(&mut self, catalog: bool, name: &str, span: Span) -> Result<()> {
        if catalog {
            if name == DEFAULT_CATALOG {
                self.current = None;
            } else {
                self.catalog(name, span)?;
                self.current = Some(name.to_string());
            }
            self.database = None;
            return Ok(());
        }
        let (catalog, database) = match name.split_once('.') {
            Some((c, d)) => (Some(c.to_string()), d.to_string()),
            None => (self.current.clone(), name.to_string()),
        };
        match catalog.as_deref() {
            None | Some(DEFAULT_CATALOG) => {
                if database != DEFAULT_DATABASE {
                    return Err(Error::Sql {
                        message: format!("database '{database}' does not exist in catalog '{DEFAULT_CATALOG}' (it has '{DEFAULT_DATABASE}'); USE CATALOG another catalog first"),
                        span,
                    });
                }
                self.current = None;
                self.database = None;
            }
            Some(c) => {
                let def = self.catalog(c, span)?.clone();
                if !self.database_exists(&def, &database)? {
                    return Err(Error::Sql {
                        message: format!(
                            "database '{database}' does not exist in catalog '{c}' ({})",
                            def.path.display()
                        ),
                        span,
                    });
                }
                self.current = Some(c.to_string());
                self.database = Some(database);
            }
        }
        Ok(())
    }

    /// The catalog table `name` points at, `None` when it names a table of the session's
    /// own (`default_catalog`), or an error when its catalog is not declared.
    pub fn locate(&self, name: &str, span: Span) -> Result<Option<Location>> {
        let parts: Vec<&str> = name.split('.').collect();
        let (catalog, database, table) = match (parts.as_slice(), &self.current) {
            ([c, ..], _) if *c == DEFAULT_CATALOG => return Ok(None),
            ([c, d, t], _) => (self.catalog(c, span)?, d.to_string(), t.to_string()),
            ([d, t], Some(c)) => (self.catalog(c, span)?, d.to_string(), t.to_string()),
            ([t], Some(c)) => {
                let def = self.catalog(c, span)?;
                let database = self
                    .database
                    .clone()
                    .unwrap_or_else(|| def.default_database.clone());
                (def, database, t.to_string())
            }
            _ => return Ok(None),
        };
        Ok(Some(Location {
            catalog: catalog.clone(),
            database,
            table,
        }))
    }

    /// The name of a session table that `name` spells with Flink's default catalog and
    /// database (`default_catalog.default_database.t` is `t`).
    pub fn session_name(name: &str) -> &str {
        name.strip_prefix(DEFAULT_CATALOG)
            .and_then(|rest| rest.strip_prefix('.'))
            .and_then(|rest| rest.strip_prefix(DEFAULT_DATABASE))
            .and_then(|rest| rest.strip_prefix('.'))
            .unwrap_or(name)
    }

    /// The table at `location`: one the session created, else the DuckDB file's; `None` when
    /// it exists in neither. Errors point at `span`, the reference.
    pub fn lookup(&self, location: &Location, span: Span) -> Result<Option<TableDef>> {
        if let Some(def) = self.created.get(&location.key()) {
            return Ok(Some(at_span(def.clone(), span)));
        }
        describe_table(location, span)
    }

    /// Plans `CREATE TABLE` of a catalog table: the table to create (its options supplied by
    /// the catalog), or `None` when it exists and the DDL says IF NOT EXISTS.
    pub fn create(&mut self, def: &TableDef, location: &Location) -> Result<Option<TableDef>> {
        if self.lookup(location, def.span)?.is_some() {
            if def.if_not_exists {
                return Ok(None);
            }
            return Err(Error::Sql {
                message: format!(
                    "table '{}' already exists in catalog '{}' ({}); write CREATE TABLE IF NOT EXISTS to keep it",
                    location.name(),
                    location.catalog.name,
                    location.catalog.path.display()
                ),
                span: def.span,
            });
        }
        if let Some((key, _, span)) = def.options.first() {
            return Err(Error::Option {
                table: location.name(),
                option: key.clone(),
                message: format!(
                    "a table of catalog '{}' takes no WITH options: the catalog stores it (to use a connector, CREATE TEMPORARY TABLE with 'connector')",
                    location.catalog.name
                ),
                span: *span,
            });
        }
        if let Some(c) = def.computed.first() {
            return Err(Error::Unsupported {
                construct: "computed columns in a catalog table (DuckDB stores physical columns)"
                    .into(),
                span: c.span,
            });
        }
        if let Some(w) = &def.watermark {
            return Err(Error::Unsupported {
                construct: "a WATERMARK on a catalog table".into(),
                span: w.span,
            });
        }
        let created = catalog_table(
            location,
            def.columns.clone(),
            def.primary_key.clone(),
            def.span,
        );
        self.created.insert(location.key(), created.clone());
        Ok(Some(created))
    }

    /// Plans `CREATE DATABASE [catalog.]name`: the catalog and database to create, or `None`
    /// when it exists and the DDL says IF NOT EXISTS.
    pub fn create_database(
        &mut self,
        name: &str,
        if_not_exists: bool,
        span: Span,
    ) -> Result<Option<(CatalogDef, String)>> {
        let (catalog, database) = match (name.split_once('.'), &self.current) {
            (Some((c, d)), _) if c != DEFAULT_CATALOG => (c.to_string(), d.to_string()),
            (None, Some(c)) => (c.clone(), name.to_string()),
            _ => {
                return Err(Error::Unsupported {
                    construct: format!("databases in '{DEFAULT_CATALOG}' (name a declared catalog: CREATE DATABASE my_catalog.{name})"),
                    span,
                })
            }
        };
        if database.contains('.') {
            return Err(Error::Sql {
                message: format!("'{name}' is not catalog.database"),
                span,
            });
        }
        let def = self.catalog(&catalog, span)?.clone();
        if self.database_exists(&def, &database)? {
            if if_not_exists {
                return Ok(None);
            }
            return Err(Error::Sql {
                message: format!("database '{database}' already exists in catalog '{catalog}'"),
                span,
            });
        }
        self.created_databases
            .insert(format!("{catalog}.{}", database.to_lowercase()));
        Ok(Some((def, database)))
    }

    fn database_exists(&self, def: &CatalogDef, database: &str) -> Result<bool> {
        let lower = database.to_lowercase();
        if self
            .created_databases
            .contains(&format!("{}.{lower}", def.name))
            || self
                .created
                .keys()
                .any(|k| k.starts_with(&format!("{}.{lower}.", def.name)))
        {
            return Ok(true);
        }
        let Some(conn) = open_read_only(&def.path)? else {
            return Ok(database.eq_ignore_ascii_case("main"));
        };
        let n: i64 = conn.query_row(
            "SELECT count(*) FROM information_schema.schemata WHERE lower(schema_name) = ?",
            [lower],
            |r| r.get(0),
        )?;
        Ok(n > 0)
    }
}

/// `def` with its position (and its options') moved to `span`, where it is referenced.
fn at_span(mut def: TableDef, span: Span) -> TableDef {
    def.span = span;
    for option in def.options.iter_mut() {
        option.2 = span;
    }
    def
}

/// A catalog table as a `duckdb` connector table.
fn catalog_table(
    location: &Location,
    columns: Vec<ColumnDef>,
    primary_key: Vec<String>,
    span: Span,
) -> TableDef {
    let primary_key_span = (!primary_key.is_empty()).then_some(span);
    TableDef {
        name: location.name(),
        temporary: false,
        if_not_exists: false,
        columns,
        computed: vec![],
        watermark: None,
        primary_key,
        primary_key_span,
        options: vec![
            ("connector".into(), "duckdb".into(), span),
            (
                "path".into(),
                location.catalog.path.display().to_string(),
                span,
            ),
            (
                "table-name".into(),
                format!("{}.{}", location.database, location.table),
                span,
            ),
        ],
        span,
    }
}

fn open_read_only(path: &Path) -> Result<Option<Connection>> {
    if !path.exists() {
        return Ok(None);
    }
    crate::duckdb_sink::connect_read_only(path)
        .map(Some)
        .map_err(|e| {
            Error::External(format!(
                "cannot open DuckDB database {}: {e}",
                path.display()
            ))
        })
}

/// The table at `location` as its DuckDB file has it: columns (types mapped back to Flink's)
/// and primary key; `None` when the file or the table does not exist.
fn describe_table(location: &Location, span: Span) -> Result<Option<TableDef>> {
    let Some(conn) = open_read_only(&location.catalog.path)? else {
        return Ok(None);
    };
    // DuckDB names are case-insensitive: match them so, and use DuckDB's spelling.
    let mut stmt = conn.prepare(
        "SELECT schema_name, table_name, column_name, data_type, is_nullable
         FROM duckdb_columns()
         WHERE database_name = current_database()
           AND lower(schema_name) = lower(?) AND lower(table_name) = lower(?)
         ORDER BY column_index",
    )?;
    let rows: Vec<(String, String, String, String, bool)> = stmt
        .query_map([&location.database, &location.table], |r| {
            Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
        })?
        .collect::<std::result::Result<_, _>>()?;
    let Some((schema, table, ..)) = rows.first().cloned() else {
        return Ok(None);
    };
    let mut columns = Vec::with_capacity(rows.len());
    for (_, _, name, data_type, nullable) in rows {
        let ty = flink_type(&data_type).ok_or_else(|| Error::Unsupported {
            construct: format!(
                "the DuckDB type {data_type} of column '{name}' in {}",
                location.name()
            ),
            span,
        })?;
        columns.push(ColumnDef {
            name,
            ty,
            nullable,
            span,
            metadata: None,
        });
    }
    let keys: Vec<String> = conn
        .prepare(
            "SELECT unnest(constraint_column_names) FROM duckdb_constraints()
             WHERE database_name = current_database() AND schema_name = ? AND table_name = ?
               AND constraint_type = 'PRIMARY KEY'",
        )?
        .query_map([&schema, &table], |r| r.get(0))?
        .collect::<std::result::Result<_, _>>()?;
    let found = Location {
        catalog: location.catalog.clone(),
        database: schema,
        table,
    };
    Ok(Some(catalog_table(&found, columns, keys, span)))
}

/// The Flink type of a DuckDB column type as `duckdb_columns()` spells it.
pub fn flink_type(duckdb: &str) -> Option<SqlType> {
    let t = duckdb.trim();
    if let Some(inner) = t.strip_suffix("[]") {
        return Some(SqlType::Array(Box::new(flink_type(inner)?)));
    }
    let upper = t.to_ascii_uppercase();
    if let Some(args) = upper
        .strip_prefix("DECIMAL(")
        .and_then(|a| a.strip_suffix(')'))
    {
        let (p, s) = args.split_once(',')?;
        return Some(SqlType::Decimal {
            precision: p.trim().parse().ok()?,
            scale: s.trim().parse().ok()?,
        });
    }
    if let Some(args) = t
        .strip_prefix("MAP(")
        .or_else(|| t.strip_prefix("map("))
        .and_then(|a| a.strip_suffix(')'))
    {
        // The key and value types are split at the top-level comma.
        let mut depth = 0i32;
        let split = args.char_indices().find(|(_, c)| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            *c == ',' && depth == 0
        })?;
        let (k, v) = (&args[..split.0], &args[split.0 + 1..]);
        return Some(SqlType::Map(
            Box::new(flink_type(k)?),
            Box::new(flink_type(v)?),
        ));
    }
    Some(match upper.as_str() {
        "VARCHAR" => SqlType::String,
        "BOOLEAN" => SqlType::Boolean,
        "TINYINT" => SqlType::TinyInt,
        "SMALLINT" => SqlType::SmallInt,
        "INTEGER" => SqlType::Int,
        "BIGINT" => SqlType::BigInt,
        "FLOAT" => SqlType::Float,
        "DOUBLE" => SqlType::Double,
        "DATE" => SqlType::Date,
        "TIMESTAMP_S" => SqlType::Timestamp { precision: 0 },
        "TIMESTAMP_MS" => SqlType::Timestamp { precision: 3 },
        "TIMESTAMP" => SqlType::Timestamp { precision: 6 },
        "TIMESTAMP_NS" => SqlType::Timestamp { precision: 9 },
        "TIMESTAMP WITH TIME ZONE" => SqlType::TimestampLtz { precision: 6 },
        "BLOB" => SqlType::Bytes,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn duckdb_types_map_back_to_flink_types() {
        assert_eq!(flink_type("VARCHAR"), Some(SqlType::String));
        assert_eq!(
            flink_type("DECIMAL(10,4)"),
            Some(SqlType::Decimal {
                precision: 10,
                scale: 4
            })
        );
        assert_eq!(
            flink_type("VARCHAR[][]"),
            Some(SqlType::Array(Box::new(SqlType::Array(Box::new(
                SqlType::String
            )))))
        );
        assert_eq!(
            flink_type("MAP(VARCHAR, DECIMAL(5,2))"),
            Some(SqlType::Map(
                Box::new(SqlType::String),
                Box::new(SqlType::Decimal {
                    precision: 5,
                    scale: 2
                })
            ))
        );
        assert_eq!(
            flink_type("TIMESTAMP WITH TIME ZONE"),
            Some(SqlType::TimestampLtz { precision: 6 })
        );
        assert_eq!(flink_type("STRUCT(a INTEGER)"), None);
        assert_eq!(flink_type("UUID"), None);
    }

    #[test]
    fn session_names_drop_the_default_catalog() {
        assert_eq!(
            Catalogs::session_name("default_catalog.default_database.t"),
            "t"
        );
        assert_eq!(Catalogs::session_name("polaris.db.t"), "polaris.db.t");
    }
}
