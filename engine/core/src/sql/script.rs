//! Splits a Flink SQL script into statements. The whole script is tokenized once, so every
//! token keeps its line and column in the script; `${VAR}` is substituted inside string
//! literals (connector options), as envsubst would for a Flink deployment.

use std::collections::HashMap;

use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan, Tokenizer};
use weir_api::Span;

use super::ddl::{
    parse_create_catalog, parse_create_database, parse_create_table, word_at, CatalogDecl, TableDef,
};
use super::span_of;
use crate::{Error, Result};

/// One statement of a script.
#[derive(Debug, Clone)]
pub enum Statement {
    /// `SET 'key' = 'value'`.
    Set {
        key: String,
        value: String,
        span: Span,
    },
    /// `RESET ['key']`.
    Reset { key: Option<String>, span: Span },
    /// `CREATE [TEMPORARY] TABLE ...`.
    CreateTable(Box<TableDef>),
    /// `CREATE CATALOG [IF NOT EXISTS] name WITH (...)`.
    CreateCatalog(Box<CatalogDecl>),
    /// `CREATE DATABASE [IF NOT EXISTS] [catalog.]name`.
    CreateDatabase {
        name: String,
        if_not_exists: bool,
        span: Span,
    },
    /// `USE CATALOG name` (`catalog` true) or `USE [catalog.]database`.
    Use {
        catalog: bool,
        name: String,
        span: Span,
    },
    /// `INSERT INTO target SELECT ...` or `INSERT INTO target VALUES ...`.
    Insert {
        target: String,
        target_span: Span,
        query: Vec<TokenWithSpan>,
        span: Span,
        /// Where the statement set it belongs to begins: the INSERTs of one set run together
        /// as one job (so a set of unbounded INSERTs runs at all).
        statement_set: Option<Span>,
    },
    /// `CREATE [TEMPORARY] VIEW [IF NOT EXISTS] name [(columns)] AS query`: later queries
    /// read the view as if its query were written in their FROM clause, as Flink expands it.
    CreateView {
        name: String,
        columns: Vec<String>,
        query: Vec<TokenWithSpan>,
        if_not_exists: bool,
        span: Span,
    },
    /// An ad-hoc query (`SELECT`, `WITH`, `VALUES`).
    Query {
        query: Vec<TokenWithSpan>,
        span: Span,
    },
    /// `EXPLAIN [PLAN FOR] <query or INSERT>`: the streaming plan, not run.
    Explain { inner: Box<Statement>, span: Span },
}

/// Tokenizes `text`, substitutes variables in string literals and splits it into statements.
pub fn parse_script(text: &str, vars: &HashMap<String, String>) -> Result<Vec<Statement>> {
    let dialect = GenericDialect {};
    let tokens = Tokenizer::new(&dialect, text)
        .tokenize_with_location()
        .map_err(|e| Error::Sql {
            message: e.message.clone(),
            span: super::location_span(e.location),
        })?;
    let mut pieces: Vec<Vec<TokenWithSpan>> = Vec::new();
    let mut current: Vec<TokenWithSpan> = Vec::new();
    for token in tokens {
        match &token.token {
            Token::Whitespace(_) => {}
            Token::SemiColon => {
                if !current.is_empty() {
                    pieces.push(std::mem::take(&mut current));
                }
            }
            Token::EOF => {}
            _ => current.push(token),
        }
    }
    if !current.is_empty() {
        pieces.push(current);
    }
    // `EXECUTE STATEMENT SET BEGIN ...; ...; END;` (and the older `BEGIN STATEMENT SET; ...
    // END;`) group INSERTs into one job in Flink; on bounded input running them one after the
    // other gives the same rows, so the markers are checked and dropped.
    let mut statements = Vec::new();
    let mut open_set: Option<Span> = None;
    for mut piece in pieces {
        let words: Vec<String> = piece
            .iter()
            .take(4)
            .map(|t| t.token.to_string().to_ascii_uppercase())
            .collect();
        let head: Vec<&str> = words.iter().map(String::as_str).collect();
        let marker = match head.as_slice() {
            ["EXECUTE", "STATEMENT", "SET", "BEGIN", ..] => Some(4),
            ["BEGIN", "STATEMENT", "SET", ..] => Some(3),
            _ => None,
        };
        if let Some(n) = marker {
            if let Some(span) = open_set {
                return Err(Error::Sql {
                    message: "statement sets cannot nest".into(),
                    span,
                });
            }
            open_set = Some(span_of(&piece[0]));
            piece.drain(..n);
            if piece.is_empty() {
                continue;
            }
        } else if head == ["END"] {
            if open_set.take().is_none() {
                return Err(Error::Sql {
                    message: "END without EXECUTE STATEMENT SET BEGIN".into(),
                    span: span_of(&piece[0]),
                });
            }
            continue;
        } else if head.first() == Some(&"EXECUTE") && head.get(1) == Some(&"INSERT") {
            piece.remove(0);
        }
        let mut statement = parse_statement(piece, vars)?;
        if let Statement::Insert { statement_set, .. } = &mut statement {
            *statement_set = open_set;
        }
        if open_set.is_some() && !matches!(statement, Statement::Insert { .. }) {
            return Err(Error::Sql {
                message: "a statement set holds only INSERT INTO statements".into(),
                span: statement.span(),
            });
        }
        statements.push(statement);
    }
    if let Some(span) = open_set {
        return Err(Error::Sql {
            message: "EXECUTE STATEMENT SET BEGIN without END".into(),
            span,
        });
    }
    Ok(statements)
}

impl Statement {
    /// Where the statement starts.
    pub fn span(&self) -> Span {
        match self {
            Statement::Set { span, .. }
            | Statement::Reset { span, .. }
            | Statement::Insert { span, .. }
            | Statement::Query { span, .. }
            | Statement::Explain { span, .. }
            | Statement::CreateDatabase { span, .. }
            | Statement::CreateView { span, .. }
            | Statement::Use { span, .. } => *span,
            Statement::CreateTable(def) => def.span,
            Statement::CreateCatalog(decl) => decl.span,
        }
    }
}

fn parse_statement(
    mut tokens: Vec<TokenWithSpan>,
    vars: &HashMap<String, String>,
) -> Result<Statement> {
    for token in tokens.iter_mut() {
        if let Token::SingleQuotedString(s) = &token.token {
            if s.contains("${") {
                let value = substitute(s, vars, span_of(token))?;
                token.token = Token::SingleQuotedString(value);
            }
        }
    }
    let span = span_of(&tokens[0]);
    let first = keyword_at(&tokens, 0);
    match first {
        Some(Keyword::SET) => parse_set(&tokens, span),
        Some(Keyword::RESET) => {
            let key = match tokens.get(1).map(|t| &t.token) {
                Some(Token::SingleQuotedString(k)) => Some(k.clone()),
                Some(Token::Word(w)) => Some(w.value.clone()),
                _ => None,
            };
            Ok(Statement::Reset { key, span })
        }
        Some(Keyword::CREATE) => {
            let kinds = [keyword_at(&tokens, 1), keyword_at(&tokens, 2)];
            if kinds.contains(&Some(Keyword::VIEW)) {
                parse_create_view(&tokens, span)
            } else if kinds.contains(&Some(Keyword::TABLE)) {
                Ok(Statement::CreateTable(Box::new(parse_create_table(
                    &tokens,
                )?)))
            } else if word_at(&tokens, 1, "CATALOG") {
                Ok(Statement::CreateCatalog(Box::new(parse_create_catalog(
                    &tokens,
                )?)))
            } else if word_at(&tokens, 1, "DATABASE") {
                let (name, if_not_exists) = parse_create_database(&tokens)?;
                Ok(Statement::CreateDatabase {
                    name,
                    if_not_exists,
                    span,
                })
            } else {
                let what = tokens
                    .iter()
                    .skip(1)
                    .take(2)
                    .map(|t| t.token.to_string().to_uppercase())
                    .collect::<Vec<_>>()
                    .join(" ");
                Err(Error::Unsupported {
                    construct: format!("CREATE {what}"),
                    span,
                })
            }
        }
        Some(Keyword::INSERT) => parse_insert(tokens, span),
        _ if word_at(&tokens, 0, "USE") => parse_use(&tokens, span),
        Some(Keyword::EXPLAIN) => {
            let mut rest = tokens[1..].to_vec();
            if keyword_at(&rest, 0) == Some(Keyword::PLAN)
                && keyword_at(&rest, 1) == Some(Keyword::FOR)
            {
                rest.drain(..2);
            }
            if rest.is_empty() {
                return Err(Error::Sql {
                    message: "EXPLAIN needs a query or an INSERT".into(),
                    span,
                });
            }
            let inner = parse_statement(rest, vars)?;
            if !matches!(inner, Statement::Insert { .. } | Statement::Query { .. }) {
                return Err(Error::Unsupported {
                    construct: "EXPLAIN of a statement other than a query or INSERT".into(),
                    span,
                });
            }
            Ok(Statement::Explain {
                inner: Box::new(inner),
                span,
            })
        }
        Some(Keyword::SELECT) | Some(Keyword::WITH) | Some(Keyword::VALUES) => {
            Ok(Statement::Query {
                query: tokens,
                span,
            })
        }
        _ if matches!(tokens[0].token, Token::LParen) => Ok(Statement::Query {
            query: tokens,
            span,
        }),
        _ => Err(Error::Unsupported {
            construct: format!(
                "the statement '{}'",
                tokens[0].token.to_string().to_uppercase()
            ),
            span,
        }),
    }
}

pub(crate) fn keyword_at(tokens: &[TokenWithSpan], i: usize) -> Option<Keyword> {
    match tokens.get(i).map(|t| &t.token) {
        Some(Token::Word(w)) if w.quote_style.is_none() => Some(w.keyword),
        _ => None,
    }
}

fn parse_set(tokens: &[TokenWithSpan], span: Span) -> Result<Statement> {
    // SET 'k' = 'v'  |  SET k = v  |  SET k=v with dotted keys
    let mut key = String::new();
    let mut i = 1;
    while i < tokens.len() && !matches!(tokens[i].token, Token::Eq) {
        match &tokens[i].token {
            Token::SingleQuotedString(s) => key.push_str(s),
            other => key.push_str(&other.to_string()),
        }
        i += 1;
    }
    if i >= tokens.len() || key.is_empty() {
        return Err(Error::Sql {
            message: "SET expects 'key' = 'value'".into(),
            span: tokens.last().map(span_of).unwrap_or(span),
        });
    }
    let mut value = String::new();
    for t in &tokens[i + 1..] {
        match &t.token {
            Token::SingleQuotedString(s) => value.push_str(s),
            other => value.push_str(&other.to_string()),
        }
    }
    Ok(Statement::Set { key, value, span })
}

fn parse_insert(tokens: Vec<TokenWithSpan>, span: Span) -> Result<Statement> {
    let mut i = 1;
    match keyword_at(&tokens, i) {
        Some(Keyword::INTO) => i += 1,
        Some(Keyword::OVERWRITE) => {
            return Err(Error::Unsupported {
                construct: "INSERT OVERWRITE".into(),
                span: span_of(&tokens[i]),
            })
        }
        _ => {
            return Err(Error::Sql {
                message: "expected INTO after INSERT".into(),
                span: tokens.get(i).map(span_of).unwrap_or(span),
            })
        }
    }
    let target_span = tokens.get(i).map(span_of).unwrap_or(span);
    let (target, next) = super::ddl::parse_object_name(&tokens, i)?;
    if matches!(tokens.get(next).map(|t| &t.token), Some(Token::LParen)) {
        return Err(Error::Unsupported {
            construct: "INSERT with a column list".into(),
            span: span_of(&tokens[next]),
        });
    }
    if next >= tokens.len() {
        return Err(Error::Sql {
            message: "INSERT INTO needs a query".into(),
            span: target_span,
        });
    }
    let query = tokens[next..].to_vec();
    Ok(Statement::Insert {
        target,
        target_span,
        query,
        span,
        statement_set: None,
    })
}

/// `CREATE [TEMPORARY] VIEW [IF NOT EXISTS] name [(col, ...)] AS query`.
fn parse_create_view(tokens: &[TokenWithSpan], span: Span) -> Result<Statement> {
    let mut i = 1;
    if keyword_at(tokens, i) == Some(Keyword::TEMPORARY) {
        i += 1;
    }
    i += 1; // VIEW
    let mut if_not_exists = false;
    if keyword_at(tokens, i) == Some(Keyword::IF) {
        if keyword_at(tokens, i + 1) != Some(Keyword::NOT)
            || keyword_at(tokens, i + 2) != Some(Keyword::EXISTS)
        {
            return Err(Error::Sql {
                message: "expected IF NOT EXISTS".into(),
                span: span_of(&tokens[i]),
            });
        }
        if_not_exists = true;
        i += 3;
    }
    let (name, mut next) = super::ddl::parse_object_name(tokens, i)?;
    let mut columns = Vec::new();
    if matches!(tokens.get(next).map(|t| &t.token), Some(Token::LParen)) {
        next += 1;
        loop {
            match tokens.get(next).map(|t| &t.token) {
                Some(Token::Word(w)) => columns.push(w.value.clone()),
                _ => {
                    return Err(Error::Sql {
                        message: "expected a column name in the view's column list".into(),
                        span: tokens.get(next).map(span_of).unwrap_or(span),
                    })
                }
            }
            next += 1;
            match tokens.get(next).map(|t| &t.token) {
                Some(Token::Comma) => next += 1,
                Some(Token::RParen) => {
                    next += 1;
                    break;
                }
                _ => {
                    return Err(Error::Sql {
                        message: "expected ',' or ')' in the view's column list".into(),
                        span: tokens.get(next).map(span_of).unwrap_or(span),
                    })
                }
            }
        }
    }
    if keyword_at(tokens, next) != Some(Keyword::AS) || next + 1 >= tokens.len() {
        return Err(Error::Sql {
            message: format!("expected AS and the query of view '{name}'"),
            span: tokens.get(next).map(span_of).unwrap_or(span),
        });
    }
    Ok(Statement::CreateView {
        name,
        columns,
        query: tokens[next + 1..].to_vec(),
        if_not_exists,
        span,
    })
}

/// The query `tokens` with every view it reads written out in place, as a derived table
/// (`(query) AS name`, with the view's column list), views within views too. A name counts
/// as a view read where a table may stand: after FROM, JOIN, a comma of a FROM list, or
/// TABLE (a window TVF's input).
pub fn expand_views(
    tokens: &[TokenWithSpan],
    views: &HashMap<String, (Vec<String>, Vec<TokenWithSpan>)>,
) -> Result<Vec<TokenWithSpan>> {
    expand(tokens, views, 0)
}

fn expand(
    tokens: &[TokenWithSpan],
    views: &HashMap<String, (Vec<String>, Vec<TokenWithSpan>)>,
    depth: usize,
) -> Result<Vec<TokenWithSpan>> {
    if views.is_empty() {
        return Ok(tokens.to_vec());
    }
    if depth > 32 {
        return Err(Error::Sql {
            message: "views nest more than 32 deep (does a view read itself?)".into(),
            span: tokens
                .first()
                .map(span_of)
                .unwrap_or(Span { line: 1, column: 1 }),
        });
    }
    let mut out = Vec::with_capacity(tokens.len());
    // Whether the previous token ends a FROM list item context (FROM, JOIN, or a comma at
    // the FROM list's depth).
    let mut from_depth: Vec<bool> = vec![false];
    let mut in_from = false;
    for (i, t) in tokens.iter().enumerate() {
        let table_position = i > 0
            && match &tokens[i - 1].token {
                // `TABLE v` is the input of a window TVF.
                Token::Word(w) => {
                    matches!(w.keyword, Keyword::FROM | Keyword::JOIN | Keyword::TABLE)
                }
                Token::Comma => in_from,
                _ => false,
            };
        let dotted = matches!(tokens.get(i + 1).map(|x| &x.token), Some(Token::Period))
            || matches!(
                tokens.get(i.wrapping_sub(1)).map(|x| &x.token),
                Some(Token::Period)
            );
        if let (true, false, Token::Word(w)) = (table_position, dotted, &t.token) {
            if let Some((columns, query)) = views.get(&w.value) {
                let inner = expand(query, views, depth + 1)?;
                let at = t.span;
                let wrap = |token: Token| TokenWithSpan::new(token, at);
                // `(SELECT * FROM (query) AS name (columns))`: the column list renames the
                // query's columns whatever alias the reader gives the view.
                out.push(wrap(Token::LParen));
                if !columns.is_empty() {
                    out.push(wrap(Token::make_keyword("SELECT")));
                    out.push(wrap(Token::Mul));
                    out.push(wrap(Token::make_keyword("FROM")));
                    out.push(wrap(Token::LParen));
                }
                out.extend(inner);
                if !columns.is_empty() {
                    out.push(wrap(Token::RParen));
                    out.push(wrap(Token::make_keyword("AS")));
                    out.push(t.clone());
                    out.push(wrap(Token::LParen));
                    for (n, c) in columns.iter().enumerate() {
                        if n > 0 {
                            out.push(wrap(Token::Comma));
                        }
                        out.push(wrap(Token::make_word(c, Some('`'))));
                    }
                    out.push(wrap(Token::RParen));
                }
                out.push(wrap(Token::RParen));
                // An alias written after the view's name stands; otherwise the view's name.
                let aliased = match tokens.get(i + 1).map(|x| &x.token) {
                    Some(Token::Word(next)) => {
                        next.keyword == Keyword::AS || next.keyword == Keyword::NoKeyword
                    }
                    _ => false,
                };
                if !aliased {
                    out.push(wrap(Token::make_keyword("AS")));
                    out.push(t.clone());
                }
                continue;
            }
        }
        match &t.token {
            Token::LParen => from_depth.push(false),
            Token::RParen => {
                from_depth.pop();
                if from_depth.is_empty() {
                    from_depth.push(false);
                }
            }
            Token::Word(w) => match w.keyword {
                Keyword::FROM => {
                    if let Some(top) = from_depth.last_mut() {
                        *top = true;
                    }
                }
                Keyword::WHERE
                | Keyword::GROUP
                | Keyword::HAVING
                | Keyword::ORDER
                | Keyword::LIMIT
                | Keyword::UNION
                | Keyword::ON
                | Keyword::WINDOW => {
                    if let Some(top) = from_depth.last_mut() {
                        *top = false;
                    }
                }
                _ => {}
            },
            _ => {}
        }
        in_from = from_depth.last().copied().unwrap_or(false);
        out.push(t.clone());
    }
    Ok(out)
}

/// `USE CATALOG name` or `USE [catalog.]database`.
fn parse_use(tokens: &[TokenWithSpan], span: Span) -> Result<Statement> {
    // `USE CATALOG x`; but `USE catalog` alone names a database called "catalog".
    let catalog = word_at(tokens, 1, "CATALOG") && tokens.len() > 2;
    let start = if catalog { 2 } else { 1 };
    if start >= tokens.len() {
        return Err(Error::Sql {
            message: "USE expects a database, or CATALOG and a catalog".into(),
            span,
        });
    }
    let (name, next) = super::ddl::parse_object_name(tokens, start)?;
    let parts = name.split('.').count();
    if next < tokens.len() || (catalog && parts > 1) || parts > 2 {
        let at = tokens.get(next).map(span_of).unwrap_or(span);
        return Err(Error::Sql {
            message: if catalog {
                "USE CATALOG expects one name".into()
            } else {
                "USE expects a database or catalog.database".into()
            },
            span: at,
        });
    }
    Ok(Statement::Use {
        catalog,
        name,
        span: span_of(&tokens[start]),
    })
}

/// Replaces `${NAME}` and `${NAME:-default}` in `s` from `vars`.
pub fn substitute(s: &str, vars: &HashMap<String, String>, span: Span) -> Result<String> {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            return Err(Error::Sql {
                message: format!("unclosed '${{' in '{s}'"),
                span,
            });
        };
        let inner = &after[..end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        let value = vars.get(name).cloned().or_else(|| std::env::var(name).ok());
        match (value, default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => {
                return Err(Error::Sql {
                    message: format!(
                        "variable ${{{name}}} is not set (pass -D {name}=... or set it in the environment)"
                    ),
                    span,
                })
            }
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars() -> HashMap<String, String> {
        HashMap::from([("OUT".to_string(), "/tmp/o".to_string())])
    }

    #[test]
    fn splits_statements_and_keeps_positions() {
        let text =
            "-- a comment\nSET 'parallelism.default' = '1';\n\nSELECT 1;\n  SELECT `x` FROM t";
        let stmts = parse_script(text, &vars()).unwrap();
        assert_eq!(stmts.len(), 3);
        match &stmts[0] {
            Statement::Set { key, value, span } => {
                assert_eq!((key.as_str(), value.as_str()), ("parallelism.default", "1"));
                assert_eq!((span.line, span.column), (2, 1));
            }
            other => panic!("{other:?}"),
        }
        match &stmts[2] {
            Statement::Query { span, .. } => assert_eq!((span.line, span.column), (5, 3)),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn substitutes_variables_with_defaults() {
        let span = Span { line: 1, column: 1 };
        assert_eq!(substitute("${OUT}/a", &vars(), span).unwrap(), "/tmp/o/a");
        assert_eq!(substitute("${NOPE:-x}/a", &vars(), span).unwrap(), "x/a");
        let err = substitute("${NOPE}", &vars(), span).unwrap_err();
        assert!(err.to_string().contains("${NOPE} is not set"), "{err}");
    }

    #[test]
    fn unsupported_statement_names_itself_and_position() {
        let err = parse_script("SET 'a' = 'b';\n DROP TABLE x;", &vars()).unwrap_err();
        assert_eq!(err.span(), Some(Span { line: 2, column: 2 }));
        assert!(err.to_string().contains("DROP"), "{err}");
    }

    #[test]
    fn statement_sets_hold_inserts() {
        let text =
            "EXECUTE STATEMENT SET BEGIN\nINSERT INTO a SELECT 1;\nINSERT INTO b SELECT 2;\nEND;";
        let stmts = parse_script(text, &vars()).unwrap();
        assert_eq!(stmts.len(), 2);
        assert!(stmts.iter().all(|s| matches!(s, Statement::Insert { .. })));
        let err = parse_script(
            "EXECUTE STATEMENT SET BEGIN INSERT INTO a SELECT 1;",
            &vars(),
        )
        .unwrap_err();
        assert!(err.to_string().contains("without END"), "{err}");
        let err = parse_script("BEGIN STATEMENT SET; SELECT 1; END;", &vars()).unwrap_err();
        assert!(err.to_string().contains("only INSERT INTO"), "{err}");
    }

    #[test]
    fn insert_keeps_target_and_query() {
        let stmts = parse_script("INSERT INTO a.b.`c` SELECT * FROM t", &vars()).unwrap();
        match &stmts[0] {
            Statement::Insert { target, query, .. } => {
                assert_eq!(target, "a.b.c");
                assert_eq!(query.len(), 4);
            }
            other => panic!("{other:?}"),
        }
    }
}
