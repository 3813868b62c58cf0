//! Flink function syntax that sqlparser or DataFusion read differently, rewritten to plain
//! function calls before planning:
//!
//! - tokens: `JSON_VALUE(j, p RETURNING t {NULL | ERROR | DEFAULT x} ON EMPTY ... ON ERROR)`
//!   becomes `JSON_VALUE(j, p, 't', 'on-empty', x, 'on-error', x)` (sqlparser cannot parse
//!   the clauses);
//! - syntax tree: `FLOOR(x TO unit)` and `CEIL(x TO unit)` become calls of
//!   `weir_floor_time('UNIT', x)` / `weir_ceil_time('UNIT', x)`; the unit keyword of
//!   `TIMESTAMPADD(unit, n, t)` and `TIMESTAMPDIFF(unit, a, b)` becomes a string literal;
//!   `IF(c, a, b)` becomes `CASE WHEN c THEN a ELSE b END`.
//!
//! `EXTRACT`, `SUBSTRING ... FROM ... FOR` and `arr[i]` need no rewrite: DataFusion plans them
//! as `date_part`, `substr` and `array_element`, which the planner maps to Weir's functions.

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::helpers::attached_token::AttachedToken;
use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, CaseWhen, CeilFloorKind, DateTimeField, Expr, Function, FunctionArg,
    FunctionArgExpr, FunctionArgumentList, FunctionArguments, Ident, ObjectName, Query, Spanned,
    Value,
};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};
use weir_api::Span;

use super::span_of;
use crate::functions::datetime::{CEIL_TIME, FLOOR_TIME};
use crate::{Error, Result};

fn is_word(token: &TokenWithSpan, word: &str) -> bool {
    matches!(&token.token, Token::Word(w) if w.quote_style.is_none() && w.value.eq_ignore_ascii_case(word))
}

/// The index of the parenthesis closing the one at `open`.
fn closing(tokens: &[TokenWithSpan], open: usize) -> Option<usize> {
    let mut depth = 0usize;
    for (i, t) in tokens.iter().enumerate().skip(open) {
        match t.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// Splits tokens at commas outside parentheses and brackets.
fn split_args(tokens: &[TokenWithSpan]) -> Vec<Vec<TokenWithSpan>> {
    let mut args = vec![vec![]];
    let mut depth = 0usize;
    for t in tokens {
        match t.token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            Token::Comma if depth == 0 => {
                args.push(vec![]);
                continue;
            }
            _ => {}
        }
        if let Some(last) = args.last_mut() {
            last.push(t.clone());
        }
    }
    args
}

/// Where the clauses of a JSON_VALUE path argument start: `RETURNING`, `DEFAULT`, or `NULL` /
/// `ERROR` followed by `ON`, outside parentheses.
fn clause_start(arg: &[TokenWithSpan], from: usize) -> Option<usize> {
    let mut depth = 0usize;
    for i in from..arg.len() {
        match arg[i].token {
            Token::LParen | Token::LBracket => depth += 1,
            Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
            _ if depth > 0 => {}
            _ if is_word(&arg[i], "RETURNING") || is_word(&arg[i], "DEFAULT") => return Some(i),
            _ if (is_word(&arg[i], "NULL") || is_word(&arg[i], "ERROR"))
                && arg.get(i + 1).is_some_and(|t| is_word(t, "ON")) =>
            {
                return Some(i)
            }
            _ => {}
        }
    }
    None
}

/// The type name `RETURNING` is rewritten to, from the type's tokens.
fn returning_type(tokens: &[TokenWithSpan], span: Span) -> Result<&'static str> {
    let name = tokens
        .first()
        .map(|t| t.token.to_string().to_ascii_uppercase())
        .unwrap_or_default();
    let rest_ok = match name.as_str() {
        // VARCHAR(n), DOUBLE PRECISION
        "VARCHAR" => tokens.len() == 1 || matches!(tokens[1].token, Token::LParen),
        "DOUBLE" => tokens.len() == 1 || (tokens.len() == 2 && is_word(&tokens[1], "PRECISION")),
        _ => tokens.len() == 1,
    };
    let mapped = match name.as_str() {
        "STRING" | "VARCHAR" => Some("STRING"),
        "INT" | "INTEGER" => Some("INT"),
        "DOUBLE" => Some("DOUBLE"),
        "BOOLEAN" => Some("BOOLEAN"),
        _ => None,
    };
    match (mapped, rest_ok) {
        (Some(t), true) => Ok(t),
        _ => {
            let written: Vec<String> = tokens.iter().map(|t| t.token.to_string()).collect();
            Err(Error::Sql {
                message: format!(
                    "JSON_VALUE cannot return {}: Flink 1.20 takes RETURNING STRING (VARCHAR), INT, DOUBLE or BOOLEAN",
                    written.join(" ")
                ),
                span,
            })
        }
    }
}

fn literal(text: &str, span: &TokenWithSpan) -> TokenWithSpan {
    TokenWithSpan::new(Token::SingleQuotedString(text.into()), span.span)
}

/// The clauses of one JSON_VALUE call, as the five extra arguments.
fn json_value_clauses(
    clauses: &[TokenWithSpan],
    call: &TokenWithSpan,
) -> Result<Vec<Vec<TokenWithSpan>>> {
    let mut returning = "STRING";
    let mut i = 0;
    if clauses.first().is_some_and(|t| is_word(t, "RETURNING")) {
        let end = clause_start(clauses, 1).unwrap_or(clauses.len());
        let span = clauses.get(1).map(span_of).unwrap_or(span_of(&clauses[0]));
        returning = returning_type(&clauses[1..end], span)?;
        i = end;
    }
    let null = |at: &TokenWithSpan| vec![TokenWithSpan::new(Token::make_keyword("NULL"), at.span)];
    // (behaviour, default value) for ON EMPTY and ON ERROR.
    let mut on_empty: Option<(&str, Vec<TokenWithSpan>)> = None;
    let mut on_error: Option<(&str, Vec<TokenWithSpan>)> = None;
    while i < clauses.len() {
        let at = &clauses[i];
        let (behavior, value, on) = if is_word(at, "DEFAULT") {
            // DEFAULT <expr> ON ...: the expression ends at a top-level ON EMPTY/ERROR.
            let mut depth = 0usize;
            let mut j = i + 1;
            while j < clauses.len() {
                match clauses[j].token {
                    Token::LParen | Token::LBracket => depth += 1,
                    Token::RParen | Token::RBracket => depth = depth.saturating_sub(1),
                    _ if depth == 0
                        && is_word(&clauses[j], "ON")
                        && clauses
                            .get(j + 1)
                            .is_some_and(|t| is_word(t, "EMPTY") || is_word(t, "ERROR")) =>
                    {
                        break
                    }
                    _ => {}
                }
                j += 1;
            }
            if j == i + 1 {
                return Err(Error::Sql {
                    message: "JSON_VALUE: DEFAULT needs a value".into(),
                    span: span_of(at),
                });
            }
            let mut value = vec![TokenWithSpan::new(Token::LParen, at.span)];
            value.extend(clauses[i + 1..j].iter().cloned());
            value.push(TokenWithSpan::new(Token::RParen, at.span));
            ("DEFAULT", value, j)
        } else if is_word(at, "NULL") || is_word(at, "ERROR") {
            let behavior = if is_word(at, "NULL") { "NULL" } else { "ERROR" };
            (behavior, null(at), i + 1)
        } else {
            return Err(Error::Sql {
                message: format!(
                    "JSON_VALUE: expected RETURNING, NULL, ERROR or DEFAULT ... ON EMPTY / ON ERROR, found {}",
                    at.token
                ),
                span: span_of(at),
            });
        };
        let target = clauses.get(on + 1);
        let slot = match (clauses.get(on).is_some_and(|t| is_word(t, "ON")), target) {
            (true, Some(t)) if is_word(t, "EMPTY") => &mut on_empty,
            (true, Some(t)) if is_word(t, "ERROR") => &mut on_error,
            _ => {
                return Err(Error::Sql {
                    message: format!("JSON_VALUE: expected ON EMPTY or ON ERROR after {behavior}"),
                    span: span_of(at),
                })
            }
        };
        if slot.is_some() {
            return Err(Error::Sql {
                message: "JSON_VALUE: ON EMPTY and ON ERROR may each be given once".into(),
                span: span_of(at),
            });
        }
        *slot = Some((behavior, value));
        i = on + 2;
    }
    let (empty, empty_value) = on_empty.unwrap_or(("NULL", null(call)));
    let (error, error_value) = on_error.unwrap_or(("NULL", null(call)));
    Ok(vec![
        vec![literal(returning, call)],
        vec![literal(empty, call)],
        empty_value,
        vec![literal(error, call)],
        error_value,
    ])
}

/// Rewrites the clauses of every `JSON_VALUE(...)` call in the tokens.
pub fn rewrite_tokens(tokens: &[TokenWithSpan]) -> Result<Vec<TokenWithSpan>> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut i = 0;
    while i < tokens.len() {
        let call = is_word(&tokens[i], "JSON_VALUE")
            && matches!(tokens.get(i + 1).map(|t| &t.token), Some(Token::LParen));
        let close = if call { closing(tokens, i + 1) } else { None };
        let Some(close) = close else {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        };
        let mut args = split_args(&tokens[i + 2..close]);
        // Calls inside the arguments first.
        for arg in args.iter_mut() {
            *arg = rewrite_tokens(arg)?;
        }
        let clauses = match args.get(1) {
            Some(path) if args.len() == 2 => clause_start(path, 1),
            _ => None,
        };
        out.push(tokens[i].clone());
        out.push(tokens[i + 1].clone());
        if let Some(start) = clauses {
            let path = args[1].split_off(start);
            args.extend(json_value_clauses(&path, &tokens[i])?);
        }
        for (k, arg) in args.into_iter().enumerate() {
            if k > 0 {
                out.push(TokenWithSpan::new(Token::Comma, tokens[i].span));
            }
            out.extend(arg);
        }
        out.push(tokens[close].clone());
        i = close + 1;
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// The syntax tree.

fn call(name: &str, span: datafusion::sql::sqlparser::tokenizer::Span, args: Vec<Expr>) -> Expr {
    Expr::Function(Function {
        name: ObjectName::from(vec![Ident::with_span(span, name)]),
        uses_odbc_syntax: false,
        parameters: FunctionArguments::None,
        args: FunctionArguments::List(FunctionArgumentList {
            duplicate_treatment: None,
            args: args
                .into_iter()
                .map(|e| FunctionArg::Unnamed(FunctionArgExpr::Expr(e)))
                .collect(),
            clauses: vec![],
        }),
        filter: None,
        null_treatment: None,
        over: None,
        within_group: vec![],
    })
}

fn text(s: &str) -> Expr {
    Expr::value(Value::SingleQuotedString(s.to_string()))
}

/// `(function, unit)` of `FLOOR(x TO unit)` / `CEIL(x TO unit)`.
fn time_rounding(expr: &Expr) -> Option<(&'static str, String)> {
    let (name, field) = match expr {
        Expr::Floor {
            field: CeilFloorKind::DateTimeField(f),
            ..
        } => (FLOOR_TIME, f),
        Expr::Ceil {
            field: CeilFloorKind::DateTimeField(f),
            ..
        } => (CEIL_TIME, f),
        _ => return None,
    };
    (*field != DateTimeField::NoDateTime).then(|| (name, field.to_string().to_ascii_uppercase()))
}

/// The function's name when it is a plain (unqualified) one, upper-cased.
fn plain_name(f: &Function) -> Option<String> {
    match f.name.0.as_slice() {
        [part] => part.as_ident().map(|i| i.value.to_ascii_uppercase()),
        _ => None,
    }
}

fn rewrite_expr(expr: &mut Expr) {
    if let Some((name, unit)) = time_rounding(expr) {
        let span = expr.span();
        if let Expr::Floor { expr: inner, .. } | Expr::Ceil { expr: inner, .. } =
            std::mem::replace(expr, Expr::value(Value::Null))
        {
            *expr = call(name, span, vec![text(&unit), *inner]);
        }
        return;
    }
    let Expr::Function(f) = expr else {
        return;
    };
    let Some(name) = plain_name(f) else {
        return;
    };
    let FunctionArguments::List(list) = &mut f.args else {
        return;
    };
    match name.as_str() {
        "TIMESTAMPADD" | "TIMESTAMPDIFF" => {
            if let Some(FunctionArg::Unnamed(FunctionArgExpr::Expr(first))) = list.args.first_mut()
            {
                if let Expr::Identifier(unit) = first {
                    if unit.quote_style.is_none() {
                        *first = text(&unit.value.to_ascii_uppercase());
                    }
                }
            }
        }
        "IF" if list.args.len() == 3 && f.over.is_none() && f.filter.is_none() => {
            let args: Vec<Expr> = list
                .args
                .iter()
                .filter_map(|a| match a {
                    FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e.clone()),
                    _ => None,
                })
                .collect();
            if let [condition, then, otherwise] = args.as_slice() {
                *expr = Expr::Case {
                    case_token: AttachedToken::empty(),
                    end_token: AttachedToken::empty(),
                    operand: None,
                    conditions: vec![CaseWhen {
                        condition: condition.clone(),
                        result: then.clone(),
                    }],
                    else_result: Some(Box::new(otherwise.clone())),
                };
            }
        }
        _ => {}
    }
}

/// Rewrites the Flink function syntax of a parsed query.
pub fn rewrite_query(query: &mut Query) {
    let _ = visit_expressions_mut(query, |expr: &mut Expr| {
        rewrite_expr(expr);
        ControlFlow::<()>::Continue(())
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use datafusion::sql::sqlparser::dialect::GenericDialect;
    use datafusion::sql::sqlparser::parser::Parser;
    use datafusion::sql::sqlparser::tokenizer::Tokenizer;

    fn tokens(sql: &str) -> Vec<TokenWithSpan> {
        Tokenizer::new(&GenericDialect {}, sql)
            .tokenize_with_location()
            .unwrap()
            .into_iter()
            .filter(|t| !matches!(t.token, Token::Whitespace(_)))
            .collect()
    }

    fn text_of(tokens: &[TokenWithSpan]) -> String {
        tokens
            .iter()
            .map(|t| t.token.to_string())
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn rewritten(sql: &str) -> String {
        let t = rewrite_tokens(&tokens(sql)).unwrap();
        let mut q = Parser::new(&GenericDialect {})
            .with_tokens_with_locations(t)
            .parse_query()
            .unwrap();
        rewrite_query(&mut q);
        q.to_string()
    }

    #[test]
    fn json_value_clauses_become_arguments() {
        let t = rewrite_tokens(&tokens(
            "SELECT JSON_VALUE(p, 'lax $.n' RETURNING INTEGER DEFAULT -1 ON EMPTY ERROR ON ERROR) FROM t",
        ))
        .unwrap();
        assert_eq!(
            text_of(&t),
            "SELECT JSON_VALUE ( p , 'lax $.n' , 'INT' , 'DEFAULT' , ( - 1 ) , 'ERROR' , NULL ) FROM t"
        );
        let t = rewrite_tokens(&tokens(
            "SELECT JSON_VALUE(JSON_VALUE(p, '$.inner'), '$.s' NULL ON EMPTY DEFAULT f(x, y) ON ERROR)",
        ))
        .unwrap();
        assert_eq!(
            text_of(&t),
            "SELECT JSON_VALUE ( JSON_VALUE ( p , '$.inner' ) , '$.s' , 'STRING' , 'NULL' , NULL , 'DEFAULT' , ( f ( x , y ) ) )"
        );
        // Without clauses the call is left as it is.
        let plain = tokens("SELECT JSON_VALUE(p, '$.a') FROM t");
        assert_eq!(text_of(&rewrite_tokens(&plain).unwrap()), text_of(&plain));
    }

    #[test]
    fn json_value_clause_errors_point_at_the_clause() {
        let err =
            rewrite_tokens(&tokens("SELECT JSON_VALUE(p, '$.a'\n  RETURNING BIGINT)")).unwrap_err();
        assert!(err.to_string().contains("cannot return BIGINT"), "{err}");
        assert_eq!(
            err.span(),
            Some(Span {
                line: 2,
                column: 13
            })
        );
        let err = rewrite_tokens(&tokens(
            "SELECT JSON_VALUE(p, '$.a' NULL ON EMPTY NULL ON EMPTY)",
        ))
        .unwrap_err();
        assert!(err.to_string().contains("once"), "{err}");
        let err = rewrite_tokens(&tokens("SELECT JSON_VALUE(p, '$.a' DEFAULT 1)")).unwrap_err();
        assert!(err.to_string().contains("ON EMPTY or ON ERROR"), "{err}");
    }

    #[test]
    fn syntax_becomes_calls() {
        assert_eq!(
            rewritten("SELECT FLOOR(ts TO HOUR), CEIL(d TO WEEK), FLOOR(x) FROM t"),
            "SELECT weir_floor_time('HOUR', ts), weir_ceil_time('WEEK', d), FLOOR(x) FROM t"
        );
        assert_eq!(
            rewritten("SELECT TIMESTAMPDIFF(month, a, b), TIMESTAMPADD(DAY, 1, a) FROM t"),
            "SELECT TIMESTAMPDIFF('MONTH', a, b), TIMESTAMPADD('DAY', 1, a) FROM t"
        );
        assert_eq!(
            rewritten("SELECT IF(a > b, a, IF(b IS NULL, 0, b)) FROM t"),
            "SELECT CASE WHEN a > b THEN a ELSE CASE WHEN b IS NULL THEN 0 ELSE b END END FROM t"
        );
    }
}
