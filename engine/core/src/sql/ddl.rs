//! `CREATE TABLE` in Flink's dialect: columns, `WATERMARK FOR`, `PRIMARY KEY ... NOT ENFORCED`
//! and `WITH ('option' = 'value', ...)`, each part keeping its position for errors.

use datafusion::sql::sqlparser::ast::{BinaryOperator, DateTimeField, Expr, Value};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::Parser;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};
use weir_api::Span;

use super::script::keyword_at;
use super::span_of;
use super::types::SqlType;
use crate::{Error, Result};

/// A table declared with `CREATE TABLE`.
#[derive(Debug, Clone)]
pub struct TableDef {
    /// The name as written, parts joined with '.' (`polaris.matih_analytics.session_analytics`).
    pub name: String,
    pub temporary: bool,
    pub if_not_exists: bool,
    /// Physical columns: what the connector reads and writes.
    pub columns: Vec<ColumnDef>,
    /// Computed columns (`name AS expr`), evaluated on each row the source reads; a query
    /// sees them among the physical columns, in the order they were declared.
    pub computed: Vec<ComputedColumn>,
    pub watermark: Option<WatermarkDef>,
    pub primary_key: Vec<String>,
    /// Where `PRIMARY KEY` is written, when it is.
    pub primary_key_span: Option<Span>,
    /// `WITH` options in the order written, with the position of each key.
    pub options: Vec<(String, String, Span)>,
    pub span: Span,
}

impl TableDef {
    /// The value of option `key` and its position.
    pub fn option(&self, key: &str) -> Option<(&str, Span)> {
        self.options
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, s)| (v.as_str(), *s))
    }

    pub fn column(&self, name: &str) -> Option<&ColumnDef> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The columns an INSERT writes: all but `VIRTUAL` metadata columns, in declared order.
    pub fn writable_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns
            .iter()
            .filter(|c| !c.metadata.as_ref().is_some_and(|m| m.virtual_))
    }

    /// The schema an INSERT into the table must produce (see [`Self::writable_columns`]).
    pub fn sink_schema(&self) -> arrow::datatypes::Schema {
        arrow::datatypes::Schema::new(
            self.writable_columns()
                .map(|c| arrow::datatypes::Field::new(&c.name, c.ty.to_arrow(), true))
                .collect::<Vec<_>>(),
        )
    }

    /// The table as its format sees it: metadata columns left out (connectors fill them).
    pub fn without_metadata(&self) -> TableDef {
        let mut def = self.clone();
        def.columns.retain(|c| c.metadata.is_none());
        def
    }

    /// The table's Arrow schema.
    pub fn arrow_schema(&self) -> arrow::datatypes::Schema {
        arrow::datatypes::Schema::new(
            self.columns
                .iter()
                .map(|c| arrow::datatypes::Field::new(&c.name, c.ty.to_arrow(), true))
                .collect::<Vec<_>>(),
        )
    }
}

/// `name AS expr` in a table's column list.
#[derive(Debug, Clone)]
pub struct ComputedColumn {
    pub name: String,
    /// Its place among all declared columns.
    pub position: usize,
    /// The expression's tokens, positions kept for errors.
    pub expr: Vec<TokenWithSpan>,
    pub span: Span,
}

#[derive(Debug, Clone)]
pub struct ColumnDef {
    pub name: String,
    pub ty: SqlType,
    pub nullable: bool,
    pub span: Span,
    /// `METADATA [FROM 'key'] [VIRTUAL]`: the connector fills the column from what it knows
    /// of a record (a Kafka record's offset, partition, timestamp...), not from its format.
    pub metadata: Option<MetadataColumn>,
}

/// A metadata column's key and whether sinks skip it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MetadataColumn {
    /// The connector's metadata key (`FROM 'key'`, or the column's name).
    pub key: String,
    /// `VIRTUAL`: read-only, not part of what an INSERT writes.
    pub virtual_: bool,
    /// Where `METADATA` is written.
    pub span: Span,
}

/// `WATERMARK FOR column AS column - INTERVAL 'n' unit`: a bounded-out-of-orderness watermark.
#[derive(Debug, Clone)]
pub struct WatermarkDef {
    pub column: String,
    /// How far the watermark trails the largest timestamp seen, in milliseconds.
    pub delay_ms: i64,
    pub span: Span,
}

struct Cursor<'a> {
    tokens: &'a [TokenWithSpan],
    pos: usize,
    /// A `>>` token half consumed while closing nested `ARRAY<ARRAY<..>>`.
    pending_gt: bool,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&'a Token> {
        self.tokens.get(self.pos).map(|t| &t.token)
    }
    fn span(&self) -> Span {
        self.tokens
            .get(self.pos)
            .or_else(|| self.tokens.last())
            .map(span_of)
            .unwrap_or(Span { line: 1, column: 1 })
    }
    fn keyword(&self) -> Option<Keyword> {
        keyword_at(self.tokens, self.pos)
    }
    fn eat_keyword(&mut self, kw: Keyword) -> bool {
        if self.keyword() == Some(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect_keyword(&mut self, kw: Keyword, what: &str) -> Result<()> {
        if self.eat_keyword(kw) {
            Ok(())
        } else {
            Err(self.error(format!("expected {what}")))
        }
    }
    fn eat(&mut self, token: &Token) -> bool {
        if self.peek() == Some(token) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn expect(&mut self, token: &Token) -> Result<()> {
        if self.eat(token) {
            Ok(())
        } else {
            Err(self.error(format!("expected '{token}'")))
        }
    }
    fn eat_gt(&mut self) -> bool {
        if self.pending_gt {
            self.pending_gt = false;
            self.pos += 1;
            return true;
        }
        match self.peek() {
            Some(Token::Gt) => {
                self.pos += 1;
                true
            }
            Some(Token::ShiftRight) => {
                self.pending_gt = true;
                true
            }
            _ => false,
        }
    }
    fn error(&self, message: String) -> Error {
        let found = match self.peek() {
            Some(t) => format!(", found '{t}'"),
            None => ", found the end of the statement".into(),
        };
        Error::Sql {
            message: format!("{message}{found}"),
            span: self.span(),
        }
    }
    fn identifier(&mut self, what: &str) -> Result<String> {
        match self.peek() {
            Some(Token::Word(w)) => {
                self.pos += 1;
                Ok(w.value.clone())
            }
            _ => Err(self.error(format!("expected {what}"))),
        }
    }
    fn string(&mut self, what: &str) -> Result<String> {
        match self.peek() {
            Some(Token::SingleQuotedString(s)) => {
                self.pos += 1;
                Ok(s.clone())
            }
            _ => Err(self.error(format!("expected {what} as a quoted string"))),
        }
    }
    fn unsigned(&mut self, what: &str) -> Result<u64> {
        match self.peek() {
            Some(Token::Number(n, _)) => {
                let v = n
                    .parse::<u64>()
                    .map_err(|_| self.error(format!("expected {what}")))?;
                self.pos += 1;
                Ok(v)
            }
            _ => Err(self.error(format!("expected {what}"))),
        }
    }
}

/// Parses a dotted, possibly backquoted name starting at `pos`; returns it and the next position.
pub fn parse_object_name(tokens: &[TokenWithSpan], pos: usize) -> Result<(String, usize)> {
    let mut c = Cursor {
        tokens,
        pos,
        pending_gt: false,
    };
    let mut parts = vec![c.identifier("a table name")?];
    while c.eat(&Token::Period) {
        parts.push(c.identifier("a name after '.'")?);
    }
    Ok((parts.join("."), c.pos))
}

/// Parses `CREATE [TEMPORARY] TABLE ...` from the statement's tokens.
pub fn parse_create_table(tokens: &[TokenWithSpan]) -> Result<TableDef> {
    let span = span_of(&tokens[0]);
    let mut c = Cursor {
        tokens,
        pos: 1,
        pending_gt: false,
    };
    let temporary = c.eat_keyword(Keyword::TEMPORARY);
    c.expect_keyword(Keyword::TABLE, "TABLE")?;
    let if_not_exists = if_not_exists(&mut c)?;
    let (name, next) = parse_object_name(tokens, c.pos)?;
    c.pos = next;
    let mut def = TableDef {
        name,
        temporary,
        if_not_exists,
        columns: vec![],
        computed: vec![],
        watermark: None,
        primary_key: vec![],
        primary_key_span: None,
        options: vec![],
        span,
    };
    c.expect(&Token::LParen)?;
    loop {
        parse_element(&mut c, &mut def)?;
        if c.eat(&Token::Comma) {
            continue;
        }
        c.expect(&Token::RParen)?;
        break;
    }
    if c.eat_keyword(Keyword::COMMENT) {
        c.string("a comment")?;
    }
    if c.keyword() == Some(Keyword::PARTITIONED) {
        return Err(Error::Unsupported {
            construct: "PARTITIONED BY".into(),
            span: c.span(),
        });
    }
    if c.eat_keyword(Keyword::WITH) {
        let table = def.name.clone();
        def.options = parse_options(&mut c, |option, span| Error::Option {
            table: table.clone(),
            option,
            message: "given twice".into(),
            span,
        })?;
    }
    if c.keyword() == Some(Keyword::LIKE) {
        return Err(Error::Unsupported {
            construct: "CREATE TABLE ... LIKE".into(),
            span: c.span(),
        });
    }
    if c.pos < tokens.len() {
        return Err(c.error("unexpected text after CREATE TABLE".into()));
    }
    if let Some(span) = def.primary_key_span {
        if let Some(missing) = def.primary_key.iter().find(|k| def.column(k).is_none()) {
            let what = if def.computed.iter().any(|c| &c.name == missing) {
                "a computed column (a key is made of physical columns)"
            } else {
                "not a column"
            };
            return Err(Error::Sql {
                message: format!("PRIMARY KEY names '{missing}', which is {what}"),
                span,
            });
        }
    }
    if let Some(wm) = def
        .watermark
        .as_ref()
        .filter(|w| !def.computed.iter().any(|c| c.name == w.column))
    {
        // (A computed rowtime's type is checked when the expression is planned.)
        match def.column(&wm.column) {
            Some(col)
                if matches!(
                    col.ty,
                    SqlType::Timestamp { .. } | SqlType::TimestampLtz { .. }
                ) => {}
            Some(col) => {
                return Err(Error::Sql {
                    message: format!(
                    "the WATERMARK column '{}' must be TIMESTAMP(3) or TIMESTAMP_LTZ(3), not {:?}",
                    wm.column, col.ty
                ),
                    span: wm.span,
                })
            }
            None => {
                return Err(Error::Sql {
                    message: format!("WATERMARK FOR names '{}', which is not a column", wm.column),
                    span: wm.span,
                })
            }
        }
    }
    Ok(def)
}

/// `( 'key' = 'value', ... )` after `WITH`, each key with its position; `twice` makes the
/// error for a key given twice.
fn parse_options(
    c: &mut Cursor<'_>,
    twice: impl Fn(String, Span) -> Error,
) -> Result<Vec<(String, String, Span)>> {
    let mut options: Vec<(String, String, Span)> = Vec::new();
    c.expect(&Token::LParen)?;
    loop {
        let key_span = c.span();
        let key = c.string("an option name")?;
        c.expect(&Token::Eq)?;
        let value = c.string("an option value")?;
        if options.iter().any(|(k, _, _)| *k == key) {
            return Err(twice(key, key_span));
        }
        options.push((key, value, key_span));
        if c.eat(&Token::Comma) {
            continue;
        }
        c.expect(&Token::RParen)?;
        break;
    }
    Ok(options)
}

/// `CREATE CATALOG [IF NOT EXISTS] name [COMMENT '...'] WITH (...)`.
#[derive(Debug, Clone)]
pub struct CatalogDecl {
    pub name: String,
    pub if_not_exists: bool,
    pub options: Vec<(String, String, Span)>,
    pub span: Span,
}

impl CatalogDecl {
    /// The value of option `key` and its position.
    pub fn option(&self, key: &str) -> Option<(&str, Span)> {
        self.options
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, v, s)| (v.as_str(), *s))
    }
}

/// Whether the word at `pos` is `word` (unquoted, any case): for words sqlparser does not
/// know as keywords.
pub(crate) fn word_at(tokens: &[TokenWithSpan], pos: usize, word: &str) -> bool {
    matches!(tokens.get(pos).map(|t| &t.token), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// Parses `CREATE CATALOG ...` from the statement's tokens.
pub fn parse_create_catalog(tokens: &[TokenWithSpan]) -> Result<CatalogDecl> {
    let span = span_of(&tokens[0]);
    let mut c = Cursor {
        tokens,
        pos: 2,
        pending_gt: false,
    };
    let if_not_exists = if_not_exists(&mut c)?;
    let name = c.identifier("a catalog name")?;
    if c.peek() == Some(&Token::Period) {
        return Err(c.error("a catalog name has one part".into()));
    }
    if c.eat_keyword(Keyword::COMMENT) {
        c.string("a comment")?;
    }
    if !c.eat_keyword(Keyword::WITH) {
        return Err(c.error("expected WITH ('type' = ..., ...)".into()));
    }
    let catalog = name.clone();
    let options = parse_options(&mut c, |option, span| Error::CatalogOption {
        catalog: catalog.clone(),
        option,
        message: "given twice".into(),
        span,
    })?;
    if c.pos < tokens.len() {
        return Err(c.error("unexpected text after CREATE CATALOG".into()));
    }
    Ok(CatalogDecl {
        name,
        if_not_exists,
        options,
        span,
    })
}

/// Parses `CREATE DATABASE [IF NOT EXISTS] [catalog.]name [COMMENT '...']`: the dotted name
/// and whether IF NOT EXISTS was given.
pub fn parse_create_database(tokens: &[TokenWithSpan]) -> Result<(String, bool)> {
    let mut c = Cursor {
        tokens,
        pos: 2,
        pending_gt: false,
    };
    let if_not_exists = if_not_exists(&mut c)?;
    let (name, next) = parse_object_name(tokens, c.pos)?;
    c.pos = next;
    if c.eat_keyword(Keyword::COMMENT) {
        c.string("a comment")?;
    }
    if c.keyword() == Some(Keyword::WITH) {
        return Err(Error::Unsupported {
            construct: "database properties (WITH after CREATE DATABASE)".into(),
            span: c.span(),
        });
    }
    if c.pos < tokens.len() {
        return Err(c.error("unexpected text after CREATE DATABASE".into()));
    }
    Ok((name, if_not_exists))
}

fn if_not_exists(c: &mut Cursor<'_>) -> Result<bool> {
    if c.eat_keyword(Keyword::IF) {
        c.expect_keyword(Keyword::NOT, "NOT EXISTS")?;
        c.expect_keyword(Keyword::EXISTS, "EXISTS")?;
        return Ok(true);
    }
    Ok(false)
}

fn parse_element(c: &mut Cursor<'_>, def: &mut TableDef) -> Result<()> {
    let start = c.span();
    let is_watermark = matches!(c.peek(), Some(Token::Word(w)) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case("WATERMARK"));
    match c.keyword() {
        _ if is_watermark => {
            c.pos += 1;
            c.expect_keyword(Keyword::FOR, "FOR after WATERMARK")?;
            let column = c.identifier("the rowtime column")?;
            c.expect_keyword(Keyword::AS, "AS")?;
            let expr_start = c.pos;
            let mut depth = 0usize;
            while let Some(t) = c.peek() {
                match t {
                    Token::LParen => depth += 1,
                    Token::RParen if depth == 0 => break,
                    Token::RParen => depth -= 1,
                    Token::Comma if depth == 0 => break,
                    _ => {}
                }
                c.pos += 1;
            }
            let expr_tokens = c.tokens[expr_start..c.pos].to_vec();
            let expr_span = expr_tokens.first().map(span_of).unwrap_or(start);
            let expr = Parser::new(&GenericDialect {})
                .with_tokens_with_locations(expr_tokens)
                .parse_expr()
                .map_err(|e| crate::sql::query::parser_error(e, expr_span))?;
            let delay_ms = watermark_delay(&expr, &column).ok_or_else(|| Error::Unsupported {
                construct: format!(
                    "the watermark expression '{expr}' (supported: `{column}` or `{column} - INTERVAL 'n' unit`)"
                ),
                span: expr_span,
            })?;
            if def.watermark.is_some() {
                return Err(Error::Sql {
                    message: "a table can have one WATERMARK".into(),
                    span: start,
                });
            }
            def.watermark = Some(WatermarkDef {
                column,
                delay_ms,
                span: start,
            });
        }
        Some(Keyword::PRIMARY) | Some(Keyword::CONSTRAINT) => {
            if c.eat_keyword(Keyword::CONSTRAINT) {
                c.identifier("a constraint name")?;
            }
            set_primary_key_span(def, c.span())?;
            c.expect_keyword(Keyword::PRIMARY, "PRIMARY KEY")?;
            c.expect_keyword(Keyword::KEY, "KEY")?;
            c.expect(&Token::LParen)?;
            loop {
                def.primary_key.push(c.identifier("a key column")?);
                if !c.eat(&Token::Comma) {
                    break;
                }
            }
            c.expect(&Token::RParen)?;
            expect_not_enforced(c)?;
        }
        _ => {
            let name = c.identifier("a column name")?;
            if def.column(&name).is_some() || def.computed.iter().any(|k| k.name == name) {
                return Err(Error::Sql {
                    message: format!("column '{name}' is declared twice"),
                    span: start,
                });
            }
            if c.eat_keyword(Keyword::AS) {
                // The expression runs to the next top-level comma, closing parenthesis or COMMENT.
                let expr_start = c.pos;
                let mut depth = 0usize;
                while let Some(t) = c.peek() {
                    match t {
                        Token::LParen => depth += 1,
                        Token::RParen if depth == 0 => break,
                        Token::RParen => depth -= 1,
                        Token::Comma if depth == 0 => break,
                        _ if depth == 0 && c.keyword() == Some(Keyword::COMMENT) => break,
                        _ => {}
                    }
                    c.pos += 1;
                }
                if c.pos == expr_start {
                    return Err(c.error(format!(
                        "expected an expression for the computed column '{name}'"
                    )));
                }
                let expr = c.tokens[expr_start..c.pos].to_vec();
                if c.eat_keyword(Keyword::COMMENT) {
                    c.string("a comment")?;
                }
                let position = def.columns.len() + def.computed.len();
                def.computed.push(ComputedColumn {
                    name,
                    position,
                    expr,
                    span: start,
                });
                return Ok(());
            }
            let ty = parse_type(c)?;
            let mut nullable = true;
            let mut metadata = None;
            loop {
                if c.eat_keyword(Keyword::NOT) {
                    c.expect_keyword(Keyword::NULL, "NULL after NOT")?;
                    nullable = false;
                } else if c.eat_keyword(Keyword::NULL) {
                } else if c.keyword() == Some(Keyword::PRIMARY) {
                    set_primary_key_span(def, c.span())?;
                    c.pos += 1;
                    c.expect_keyword(Keyword::KEY, "KEY")?;
                    expect_not_enforced(c)?;
                    def.primary_key.push(name.clone());
                } else if c.eat_keyword(Keyword::COMMENT) {
                    c.string("a comment")?;
                } else if c.keyword() == Some(Keyword::METADATA) && metadata.is_none() {
                    let span = c.span();
                    c.pos += 1;
                    let key = if c.eat_keyword(Keyword::FROM) {
                        c.string("a metadata key")?
                    } else {
                        name.clone()
                    };
                    let virtual_ = c.eat_keyword(Keyword::VIRTUAL);
                    metadata = Some(MetadataColumn {
                        key,
                        virtual_,
                        span,
                    });
                } else {
                    break;
                }
            }
            if def.column(&name).is_some() {
                return Err(Error::Sql {
                    message: format!("column '{name}' is declared twice"),
                    span: start,
                });
            }
            def.columns.push(ColumnDef {
                name,
                ty,
                nullable,
                span: start,
                metadata,
            });
        }
    }
    Ok(())
}

/// A table has one primary key.
fn set_primary_key_span(def: &mut TableDef, span: Span) -> Result<()> {
    if def.primary_key_span.is_some() {
        return Err(Error::Sql {
            message: format!("table '{}' declares PRIMARY KEY twice", def.name),
            span,
        });
    }
    def.primary_key_span = Some(span);
    Ok(())
}

fn expect_not_enforced(c: &mut Cursor<'_>) -> Result<()> {
    if c.eat_keyword(Keyword::NOT) {
        c.expect_keyword(Keyword::ENFORCED, "ENFORCED")?;
        Ok(())
    } else {
        Err(c.error(
            "Flink supports only PRIMARY KEY ... NOT ENFORCED; expected NOT ENFORCED".into(),
        ))
    }
}

fn parse_type(c: &mut Cursor<'_>) -> Result<SqlType> {
    let span = c.span();
    let word = match c.peek() {
        Some(Token::Word(w)) => w.value.to_ascii_uppercase(),
        _ => return Err(c.error("expected a column type".into())),
    };
    c.pos += 1;
    let optional_len = |c: &mut Cursor<'_>| -> Result<Option<u64>> {
        if c.eat(&Token::LParen) {
            let n = c.unsigned("a length")?;
            c.expect(&Token::RParen)?;
            Ok(Some(n))
        } else {
            Ok(None)
        }
    };
    let ty = match word.as_str() {
        "STRING" | "VARCHAR" | "CHAR" => {
            optional_len(c)?;
            SqlType::String
        }
        "BOOLEAN" | "BOOL" => SqlType::Boolean,
        "TINYINT" => SqlType::TinyInt,
        "SMALLINT" => SqlType::SmallInt,
        "INT" | "INTEGER" => SqlType::Int,
        "BIGINT" => SqlType::BigInt,
        "FLOAT" | "REAL" => SqlType::Float,
        "DOUBLE" => {
            c.eat_keyword(Keyword::PRECISION);
            SqlType::Double
        }
        "DECIMAL" | "DEC" | "NUMERIC" => {
            let (mut precision, mut scale) = (10u64, 0u64);
            if c.eat(&Token::LParen) {
                precision = c.unsigned("a precision")?;
                if c.eat(&Token::Comma) {
                    scale = c.unsigned("a scale")?;
                }
                c.expect(&Token::RParen)?;
            }
            if !(1..=38).contains(&precision) || scale > precision {
                return Err(Error::Sql {
                    message: format!("DECIMAL({precision}, {scale}) is out of range (precision 1 to 38, scale up to precision)"),
                    span,
                });
            }
            SqlType::Decimal {
                precision: precision as u8,
                scale: scale as i8,
            }
        }
        "DATE" => SqlType::Date,
        "TIMESTAMP" | "TIMESTAMP_LTZ" => {
            let precision = optional_len(c)?.unwrap_or(6).min(9) as u8;
            let mut ltz = word == "TIMESTAMP_LTZ";
            if c.eat_keyword(Keyword::WITHOUT) {
                c.expect_keyword(Keyword::TIME, "TIME ZONE")?;
                c.expect_keyword(Keyword::ZONE, "ZONE")?;
            } else if c.keyword() == Some(Keyword::WITH)
                && keyword_at(c.tokens, c.pos + 1) == Some(Keyword::LOCAL)
            {
                c.pos += 2;
                c.expect_keyword(Keyword::TIME, "TIME ZONE")?;
                c.expect_keyword(Keyword::ZONE, "ZONE")?;
                ltz = true;
            }
            if ltz {
                SqlType::TimestampLtz { precision }
            } else {
                SqlType::Timestamp { precision }
            }
        }
        "ARRAY" => {
            c.expect(&Token::Lt)?;
            let inner = parse_type(c)?;
            if !c.eat_gt() {
                return Err(c.error("expected '>' closing ARRAY<".into()));
            }
            SqlType::Array(Box::new(inner))
        }
        "MAP" => {
            c.expect(&Token::Lt)?;
            let k = parse_type(c)?;
            c.expect(&Token::Comma)?;
            let v = parse_type(c)?;
            if !c.eat_gt() {
                return Err(c.error("expected '>' closing MAP<".into()));
            }
            SqlType::Map(Box::new(k), Box::new(v))
        }
        "BYTES" | "VARBINARY" | "BINARY" => {
            optional_len(c)?;
            SqlType::Bytes
        }
        other => {
            return Err(Error::Unsupported {
                construct: format!("the column type {other}"),
                span,
            });
        }
    };
    Ok(ty)
}

/// The delay of `col` or `col - INTERVAL ...`, in milliseconds.
fn watermark_delay(expr: &Expr, column: &str) -> Option<i64> {
    match expr {
        Expr::Identifier(id) if id.value == column => Some(0),
        Expr::Nested(inner) => watermark_delay(inner, column),
        Expr::BinaryOp {
            left,
            op: BinaryOperator::Minus,
            right,
        } => {
            let base = watermark_delay(left, column)?;
            if base != 0 {
                return None;
            }
            interval_ms(right)
        }
        _ => None,
    }
}

/// Milliseconds of an `INTERVAL 'n' unit` literal (SECOND, MINUTE, HOUR, DAY; and
/// `INTERVAL 'n' MILLISECOND` spelled as Flink allows).
pub fn interval_ms(expr: &Expr) -> Option<i64> {
    let Expr::Interval(iv) = expr else {
        return None;
    };
    let text = match iv.value.as_ref() {
        Expr::Value(v) => match &v.value {
            Value::SingleQuotedString(s) => s.clone(),
            Value::Number(n, _) => n.clone(),
            _ => return None,
        },
        _ => return None,
    };
    let text = text.trim();
    let (amount, unit_in_text) = match text.split_once(' ') {
        Some((n, u)) => (n, Some(u.trim().to_ascii_uppercase())),
        None => (text, None),
    };
    let unit_ms = |name: &str| -> Option<i64> {
        Some(match name.trim_end_matches('S') {
            "MILLISECOND" => 1,
            "SECOND" => 1_000,
            "MINUTE" => 60_000,
            "HOUR" => 3_600_000,
            "DAY" => 86_400_000,
            _ => return None,
        })
    };
    let unit = match (&iv.leading_field, unit_in_text) {
        (None, Some(u)) => unit_ms(&u)?,
        (Some(f), None) => match f {
            DateTimeField::Second | DateTimeField::Seconds => 1_000,
            DateTimeField::Minute | DateTimeField::Minutes => 60_000,
            DateTimeField::Hour | DateTimeField::Hours => 3_600_000,
            DateTimeField::Day | DateTimeField::Days => 86_400_000,
            DateTimeField::Millisecond | DateTimeField::Milliseconds => 1,
            _ => return None,
        },
        _ => return None,
    };
    if iv.last_field.is_some() {
        return None;
    }
    let amount: f64 = amount.parse().ok()?;
    Some((amount * unit as f64).round() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::script::{parse_script, Statement};
    use std::collections::HashMap;

    fn table(sql: &str) -> Result<TableDef> {
        match parse_script(sql, &HashMap::new())?.remove(0) {
            Statement::CreateTable(t) => Ok(*t),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn parses_the_matih_source() {
        let t = table(
            "CREATE TEMPORARY TABLE state_changes_source (
    event_id        STRING,
    tenant_id       STRING NOT NULL,
    tools_used      ARRAY<STRING>,
    cost            DECIMAL(10, 4),
    `timestamp`     TIMESTAMP(3),
    WATERMARK FOR `timestamp` AS `timestamp` - INTERVAL '30' SECOND
) WITH (
    'connector' = 'kafka',
    'format' = 'json'
)",
        )
        .unwrap();
        assert!(t.temporary);
        assert_eq!(t.columns.len(), 5);
        assert!(!t.columns[1].nullable);
        assert_eq!(t.columns[2].ty, SqlType::Array(Box::new(SqlType::String)));
        assert_eq!(
            t.columns[3].ty,
            SqlType::Decimal {
                precision: 10,
                scale: 4
            }
        );
        let wm = t.watermark.clone().unwrap();
        assert_eq!((wm.column.as_str(), wm.delay_ms), ("timestamp", 30_000));
        assert_eq!(t.option("format").map(|(v, _)| v), Some("json"));
        assert_eq!(
            t.option("connector").map(|(_, s)| (s.line, s.column)),
            Some((9, 5))
        );
    }

    #[test]
    fn primary_key_and_nested_types() {
        let t = table(
            "CREATE TABLE t (id STRING, m MAP<STRING, INT>, a ARRAY<ARRAY<INT>>, PRIMARY KEY (id) NOT ENFORCED) WITH ('connector'='print')",
        )
        .unwrap();
        assert_eq!(t.primary_key, vec!["id"]);
        assert_eq!(
            t.columns[2].ty,
            SqlType::Array(Box::new(SqlType::Array(Box::new(SqlType::Int))))
        );
    }

    #[test]
    fn computed_columns_keep_their_place_and_tokens() {
        let t = table(
            "CREATE TABLE t (epoch BIGINT, ts AS TO_TIMESTAMP(FROM_UNIXTIME(epoch)) COMMENT 'c', v INT, WATERMARK FOR ts AS ts) WITH ('connector'='print')",
        )
        .unwrap();
        assert_eq!(t.columns.len(), 2);
        assert_eq!(t.computed.len(), 1);
        assert_eq!(
            (t.computed[0].name.as_str(), t.computed[0].position),
            ("ts", 1)
        );
        assert_eq!(t.computed[0].expr.len(), 7);
        assert_eq!(t.watermark.unwrap().column, "ts");
    }

    #[test]
    fn bad_type_names_its_position() {
        let err =
            table("CREATE TABLE t (\n  id STRING,\n  x GEOMETRY\n) WITH ('connector'='print')")
                .unwrap_err();
        assert_eq!(err.span(), Some(Span { line: 3, column: 5 }));
        assert!(err.to_string().contains("GEOMETRY"), "{err}");
    }

    #[test]
    fn watermark_on_unknown_column_is_an_error() {
        let err =
            table("CREATE TABLE t (id STRING, WATERMARK FOR ts AS ts) WITH ('connector'='print')")
                .unwrap_err();
        assert!(
            err.to_string().contains("'ts', which is not a column"),
            "{err}"
        );
    }

    #[test]
    fn primary_key_must_name_physical_columns_once() {
        let err =
            table("CREATE TABLE t (\n id STRING,\n PRIMARY KEY (idd) NOT ENFORCED)").unwrap_err();
        assert_eq!(err.span(), Some(Span { line: 3, column: 2 }));
        assert!(
            err.to_string()
                .contains("PRIMARY KEY names 'idd', which is not a column"),
            "{err}"
        );
        let err = table("CREATE TABLE t (id STRING, c AS UPPER(id), PRIMARY KEY (c) NOT ENFORCED)")
            .unwrap_err();
        assert!(
            err.to_string().contains("which is a computed column"),
            "{err}"
        );
        let err = table(
            "CREATE TABLE t (id STRING PRIMARY KEY NOT ENFORCED, PRIMARY KEY (id) NOT ENFORCED)",
        )
        .unwrap_err();
        assert!(
            err.to_string().contains("declares PRIMARY KEY twice"),
            "{err}"
        );
        let t = table(
            "CREATE TABLE t (a STRING, b INT, CONSTRAINT pk PRIMARY KEY (a, b) NOT ENFORCED)",
        )
        .unwrap();
        assert_eq!(t.primary_key, ["a", "b"]);
        assert!(t.options.is_empty());
    }

    #[test]
    fn create_catalog_keeps_its_options_and_their_positions() {
        let stmts = parse_script(
            "CREATE CATALOG IF NOT EXISTS polaris COMMENT 'lake'\nWITH ('type' = 'duckdb', 'path' = 'x.duckdb');\nCREATE DATABASE IF NOT EXISTS polaris.a;\nUSE CATALOG polaris;\nUSE polaris.a",
            &HashMap::new(),
        )
        .unwrap();
        match &stmts[0] {
            Statement::CreateCatalog(c) => {
                assert_eq!(c.name, "polaris");
                assert!(c.if_not_exists);
                assert_eq!(
                    c.option("path"),
                    Some((
                        "x.duckdb",
                        Span {
                            line: 2,
                            column: 26
                        }
                    ))
                );
            }
            other => panic!("{other:?}"),
        }
        assert!(
            matches!(&stmts[1], Statement::CreateDatabase { name, if_not_exists: true, .. } if name == "polaris.a")
        );
        assert!(
            matches!(&stmts[2], Statement::Use { catalog: true, name, .. } if name == "polaris")
        );
        assert!(
            matches!(&stmts[3], Statement::Use { catalog: false, name, .. } if name == "polaris.a")
        );
        let err = parse_script(
            "CREATE CATALOG a.b WITH ('type' = 'duckdb')",
            &HashMap::new(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("one part"), "{err}");
        let err = parse_script(
            "CREATE CATALOG c WITH ('type' = 'duckdb', 'type' = 'x')",
            &HashMap::new(),
        )
        .unwrap_err();
        assert!(
            err.to_string()
                .contains("catalog 'c': option 'type': given twice"),
            "{err}"
        );
        let err = parse_script("USE CATALOG a.b", &HashMap::new()).unwrap_err();
        assert!(
            err.to_string().contains("USE CATALOG expects one name"),
            "{err}"
        );
    }

    #[test]
    fn duplicate_option_is_an_error() {
        let err = table("CREATE TABLE t (id STRING) WITH ('connector'='print', 'connector'='x')")
            .unwrap_err();
        assert!(
            err.to_string().contains("option 'connector': given twice"),
            "{err}"
        );
    }
}
