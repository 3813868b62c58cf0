//! Queries: Flink's window syntaxes are rewritten to plain columns before DataFusion plans the
//! query. `TABLE(TUMBLE(TABLE t, DESCRIPTOR(ts), INTERVAL ...))` becomes `t` with the
//! `window_start`/`window_end`/`window_time` columns; `GROUP BY TUMBLE(ts, INTERVAL ...)` becomes
//! `GROUP BY window_start, window_end` and `TUMBLE_START(...)` becomes `window_start`. Flink's
//! function syntax becomes plain function calls (`sql::functions`).

use std::ops::ControlFlow;

use datafusion::sql::sqlparser::ast::{
    visit_expressions_mut, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    Ident, Query, SelectItem, SetExpr, Spanned, VisitMut, VisitorMut,
};
use datafusion::sql::sqlparser::dialect::GenericDialect;
use datafusion::sql::sqlparser::keywords::Keyword;
use datafusion::sql::sqlparser::parser::{Parser, ParserError};
use datafusion::sql::sqlparser::tokenizer::{Token, TokenWithSpan};
use weir_api::Span;

use super::ddl::interval_ms;
use super::script::keyword_at;
use super::{location_span, span_of};
use crate::{Error, Result};

/// Names of the columns a window adds to its input, as Flink names them in window TVFs.
pub const WINDOW_START: &str = "window_start";
pub const WINDOW_END: &str = "window_end";
pub const WINDOW_TIME: &str = "window_time";

/// An event-time window a query aggregates over.
#[derive(Debug, Clone, PartialEq)]
pub struct WindowSpec {
    pub kind: WindowKind,
    /// The rowtime column windows are assigned by.
    pub time_column: String,
    /// The table the window TVF reads (`None` for the legacy GROUP BY syntax); for a view,
    /// the name it is read under.
    pub table: Option<String>,
    /// The TVF reads a view (expanded to its query): the window columns are computed from the
    /// view's rowtime column after the view's operators, not at the table's source.
    pub over_query: bool,
    pub span: Span,
}

/// The function a window TVF over a view calls for `bound` (`window_start`, `window_end`,
/// `window_time`): `operators::window_assigner::WindowPane`, registered with the query's window.
pub fn window_pane_function(bound: &str) -> String {
    format!("__weir_pane_{bound}")
}

/// The windows Weir runs, all over a grid of panes (Flink's "slices"): a row is added to one
/// pane, and a window is the panes between its start and end.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WindowKind {
    Tumble {
        size_ms: i64,
        offset_ms: i64,
    },
    /// Windows of `size_ms` starting every `slide_ms`.
    Hop {
        slide_ms: i64,
        size_ms: i64,
        offset_ms: i64,
    },
    /// Windows starting every `size_ms` and growing by `step_ms` until they reach `size_ms`.
    Cumulate {
        step_ms: i64,
        size_ms: i64,
        offset_ms: i64,
    },
    /// Per key, rows less than `gap_ms` apart form one window: `[first, last + gap)`.
    /// Its "pane" is a single row's proto-session `[ts, ts + gap)`.
    Session {
        gap_ms: i64,
    },
}

impl WindowKind {
    pub fn name(&self) -> &'static str {
        match self {
            WindowKind::Tumble { .. } => "TUMBLE",
            WindowKind::Hop { .. } => "HOP",
            WindowKind::Cumulate { .. } => "CUMULATE",
            WindowKind::Session { .. } => "SESSION",
        }
    }

    /// The window size (the largest one for CUMULATE).
    pub fn size_ms(&self) -> i64 {
        match self {
            WindowKind::Tumble { size_ms, .. }
            | WindowKind::Hop { size_ms, .. }
            | WindowKind::Cumulate { size_ms, .. } => *size_ms,
            WindowKind::Session { gap_ms } => *gap_ms,
        }
    }

    fn offset_ms(&self) -> i64 {
        match self {
            WindowKind::Tumble { offset_ms, .. }
            | WindowKind::Hop { offset_ms, .. }
            | WindowKind::Cumulate { offset_ms, .. } => *offset_ms,
            WindowKind::Session { .. } => 0,
        }
    }

    /// The pane length: rows are accumulated per pane.
    pub fn pane_ms(&self) -> i64 {
        match self {
            WindowKind::Tumble { size_ms, .. } => *size_ms,
            WindowKind::Hop { slide_ms, .. } => *slide_ms,
            WindowKind::Cumulate { step_ms, .. } => *step_ms,
            WindowKind::Session { gap_ms } => *gap_ms,
        }
    }

    /// The start of the pane holding `ts` (`ts` itself for SESSION).
    pub fn pane_start(&self, ts: i64) -> i64 {
        if let WindowKind::Session { .. } = self {
            return ts;
        }
        let pane = self.pane_ms();
        ts - (ts - self.offset_ms()).rem_euclid(pane)
    }

    /// `(period, offset)`: every window ends on `offset + k * period`; `None` for SESSION,
    /// whose ends depend on the data.
    pub fn firing_period(&self) -> Option<(i64, i64)> {
        if let WindowKind::Session { .. } = self {
            return None;
        }
        let pane = self.pane_ms();
        Some((pane, self.offset_ms().rem_euclid(pane)))
    }

    /// The end of the last window that contains the pane starting at `pane_start`: once the
    /// watermark passes it, rows for that pane are late.
    pub fn last_window_end(&self, pane_start: i64) -> i64 {
        match self {
            WindowKind::Tumble { size_ms, .. } | WindowKind::Hop { size_ms, .. } => {
                pane_start + size_ms
            }
            WindowKind::Session { gap_ms } => pane_start + gap_ms,
            WindowKind::Cumulate {
                size_ms, offset_ms, ..
            } => pane_start - (pane_start - offset_ms).rem_euclid(*size_ms) + size_ms,
        }
    }

    /// The start of the window that ends at `end` (a point of the firing grid).
    pub fn window_start(&self, end: i64) -> i64 {
        match self {
            WindowKind::Tumble { size_ms, .. } | WindowKind::Hop { size_ms, .. } => end - size_ms,
            WindowKind::Session { gap_ms } => end - gap_ms,
            WindowKind::Cumulate {
                size_ms, offset_ms, ..
            } => {
                let last = end - 1;
                last - (last - offset_ms).rem_euclid(*size_ms)
            }
        }
    }

    /// Checks sizes as Flink does: positive, and a whole number of panes per window.
    fn validate(&self, span: Span) -> Result<()> {
        let (size, pane) = (self.size_ms(), self.pane_ms());
        let what = match self {
            WindowKind::Tumble { .. } | WindowKind::Session { .. } => "",
            WindowKind::Hop { .. } => "slide",
            WindowKind::Cumulate { .. } => "step",
        };
        if size <= 0 || pane <= 0 {
            return Err(Error::Sql {
                message: format!("the {} window's intervals must be positive", self.name()),
                span,
            });
        }
        if size % pane != 0 {
            return Err(Error::Sql {
                message: format!(
                    "the {} window's size ({size} ms) must be a whole multiple of its {what} ({pane} ms), as in Flink",
                    self.name()
                ),
                span,
            });
        }
        Ok(())
    }
}

impl std::fmt::Display for WindowSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}(time={}", self.kind.name(), self.time_column)?;
        match self.kind {
            WindowKind::Tumble { size_ms, .. } => write!(f, ", size={size_ms}ms")?,
            WindowKind::Hop {
                slide_ms, size_ms, ..
            } => write!(f, ", slide={slide_ms}ms, size={size_ms}ms")?,
            WindowKind::Cumulate {
                step_ms, size_ms, ..
            } => write!(f, ", step={step_ms}ms, size={size_ms}ms")?,
            WindowKind::Session { gap_ms } => write!(f, ", gap={gap_ms}ms")?,
        }
        match self.kind.offset_ms() {
            0 => write!(f, ")"),
            o => write!(f, ", offset={o}ms)"),
        }
    }
}

/// A query parsed and rewritten for planning.
#[derive(Debug)]
pub struct ParsedQuery {
    pub query: Box<Query>,
    pub window: Option<WindowSpec>,
    /// Two window TVFs (a window join): one per joined table; `window` is then `None`.
    pub join_windows: Vec<WindowSpec>,
    pub tokens: Vec<TokenWithSpan>,
    pub span: Span,
}

/// Turns a sqlparser error into a Weir error with the line and column it names.
pub fn parser_error(e: ParserError, fallback: Span) -> Error {
    let message = match e {
        ParserError::TokenizerError(m) | ParserError::ParserError(m) => m,
        ParserError::RecursionLimitExceeded => "the query is nested too deeply".into(),
    };
    let (message, span) = match message.rfind(" at Line: ") {
        Some(at) => {
            let pos = &message[at + " at Line: ".len()..];
            let mut parts = pos.split(", Column: ");
            let line = parts.next().and_then(|l| l.trim().parse::<u32>().ok());
            let column = parts.next().and_then(|c| c.trim().parse::<u32>().ok());
            match (line, column) {
                (Some(line), Some(column)) if line > 0 => {
                    (message[..at].to_string(), Span { line, column })
                }
                (Some(_), Some(_)) => (message[..at].to_string(), fallback),
                _ => (message, fallback),
            }
        }
        None => (message, fallback),
    };
    Error::Sql { message, span }
}

/// Constructs Weir recognises but does not run yet, with the keyword that starts them.
const UNSUPPORTED_KEYWORDS: &[(Keyword, &str)] = &[
    (Keyword::MATCH_RECOGNIZE, "MATCH_RECOGNIZE"),
    (Keyword::INTERSECT, "INTERSECT"),
    (Keyword::EXCEPT, "EXCEPT"),
    (Keyword::LATERAL, "LATERAL"),
    (Keyword::UNNEST, "UNNEST"),
];

/// The first keyword of `UNSUPPORTED_KEYWORDS` in the tokens, as an error.
pub fn unsupported_keyword(tokens: &[TokenWithSpan]) -> Option<Error> {
    tokens.iter().enumerate().find_map(|(i, t)| {
        let kw = keyword_at(tokens, i)?;
        UNSUPPORTED_KEYWORDS
            .iter()
            .find(|(k, _)| *k == kw)
            .map(|(_, name)| Error::Unsupported {
                construct: (*name).to_string(),
                span: span_of(t),
            })
    })
}

/// The span of the first occurrence of `keyword`, if any.
pub fn keyword_span(tokens: &[TokenWithSpan], keyword: Keyword) -> Option<Span> {
    (0..tokens.len())
        .find(|i| keyword_at(tokens, *i) == Some(keyword))
        .map(|i| span_of(&tokens[i]))
}

/// Parses a query's tokens, rewriting Flink's window syntaxes.
pub fn parse_query(tokens: Vec<TokenWithSpan>) -> Result<ParsedQuery> {
    let span = tokens
        .first()
        .map(span_of)
        .unwrap_or(Span { line: 1, column: 1 });
    if let Some(err) = unsupported_keyword(&tokens) {
        return Err(err);
    }
    let (rewritten, mut tvf_windows) = rewrite_window_tvf(&tokens)?;
    if let Some(w) = tvf_windows
        .iter()
        .find(|w| w.over_query)
        .filter(|_| tvf_windows.len() > 1)
    {
        return Err(Error::Unsupported {
            construct: format!(
                "a view ('{}') in the window TVF of a window join: name its table there",
                w.table.as_deref().unwrap_or_default()
            ),
            span: w.span,
        });
    }
    let (tvf_window, join_windows) = if tvf_windows.len() == 1 {
        (tvf_windows.pop(), vec![])
    } else {
        (None, tvf_windows)
    };
    let rewritten = super::functions::rewrite_tokens(&rewritten)?;
    // Errors at the end of the text point just past its last token.
    let end = tokens
        .last()
        .map(|t| location_span(t.span.end))
        .unwrap_or(span);
    let mut query = Parser::new(&GenericDialect {})
        .with_tokens_with_locations(rewritten)
        .parse_query()
        .map_err(|e| parser_error(e, end))?;
    let legacy_window = rewrite_group_window(&mut query)?;
    super::functions::rewrite_query(&mut query);
    name_expressions(&mut query);
    let window = match (tvf_window, legacy_window) {
        (Some(_), Some(w)) => {
            return Err(Error::Sql {
                message: "a query can use either a window TVF or GROUP BY TUMBLE(...), not both"
                    .into(),
                span: w.span,
            })
        }
        (a, b) => a.or(b),
    };
    if let (Some(w), false) = (&window, join_windows.is_empty()) {
        return Err(Error::Sql {
            message: "a query can use either window TVFs or GROUP BY TUMBLE(...), not both".into(),
            span: w.span,
        });
    }
    Ok(ParsedQuery {
        query,
        window,
        join_windows,
        tokens,
        span,
    })
}

/// Names the unnamed expressions of every SELECT list as Flink does, `EXPR$<position>`
/// (columns keep their names). DataFusion's own names leave out casts, so without this
/// `SELECT AVG(x), AVG(CAST(x AS DOUBLE))` would be two columns of one name, an error.
fn name_expressions(query: &mut Query) {
    struct Namer;
    impl VisitorMut for Namer {
        type Break = ();
        fn post_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
            if let SetExpr::Select(select) = query.body.as_mut() {
                for (i, item) in select.projection.iter_mut().enumerate() {
                    let SelectItem::UnnamedExpr(expr) = item else {
                        continue;
                    };
                    if matches!(expr, Expr::Identifier(_) | Expr::CompoundIdentifier(_)) {
                        continue;
                    }
                    let span = expr.span();
                    *item = SelectItem::ExprWithAlias {
                        expr: expr.clone(),
                        alias: Ident::with_span(span, format!("EXPR${i}")),
                    };
                }
            }
            ControlFlow::Continue(())
        }
    }
    let _ = query.visit(&mut Namer);
}

fn is_window_tvf(name: &str) -> bool {
    ["TUMBLE", "HOP", "CUMULATE", "SESSION"]
        .iter()
        .any(|n| n.eq_ignore_ascii_case(name))
}

/// Finds `TABLE(TUMBLE(...))` in the token stream and replaces it with the table's name; two
/// of them (a window join) at most.
fn rewrite_window_tvf(tokens: &[TokenWithSpan]) -> Result<(Vec<TokenWithSpan>, Vec<WindowSpec>)> {
    let mut out = Vec::with_capacity(tokens.len());
    let mut windows = Vec::new();
    let mut i = 0;
    while i < tokens.len() {
        let is_tvf = keyword_at(tokens, i) == Some(Keyword::TABLE)
            && matches!(tokens.get(i + 1).map(|t| &t.token), Some(Token::LParen))
            && matches!(tokens.get(i + 2).map(|t| &t.token), Some(Token::Word(w)) if is_window_tvf(&w.value))
            && matches!(tokens.get(i + 3).map(|t| &t.token), Some(Token::LParen));
        if !is_tvf {
            out.push(tokens[i].clone());
            i += 1;
            continue;
        }
        let fn_span = span_of(&tokens[i + 2]);
        let fn_name = tokens[i + 2].token.to_string().to_ascii_uppercase();
        if fn_name == "NONE" {
            return Err(Error::Unsupported {
                construct: format!("the {fn_name} window"),
                span: fn_span,
            });
        }
        if windows.len() == 2 {
            return Err(Error::Unsupported {
                construct: "more than two window TVFs in one query".into(),
                span: fn_span,
            });
        }
        // Split the arguments at top-level commas up to the call's closing parenthesis.
        let mut depth = 0usize;
        let mut j = i + 4;
        let mut args: Vec<Vec<TokenWithSpan>> = vec![vec![]];
        while j < tokens.len() {
            match &tokens[j].token {
                Token::LParen => depth += 1,
                Token::RParen if depth == 0 => break,
                Token::RParen => depth -= 1,
                Token::Comma if depth == 0 => {
                    args.push(vec![]);
                    j += 1;
                    continue;
                }
                _ => {}
            }
            if let Some(last) = args.last_mut() {
                last.push(tokens[j].clone());
            }
            j += 1;
        }
        if !matches!(tokens.get(j + 1).map(|t| &t.token), Some(Token::RParen)) {
            return Err(Error::Sql {
                message: "expected ')' closing TABLE(".into(),
                span: fn_span,
            });
        }
        let (table_tokens, spec) = window_tvf_args(&fn_name, args, fn_span)?;
        out.extend(table_tokens);
        // A view's derived table needs an alias: the view's name, unless one is written.
        let aliased = matches!(
            tokens.get(j + 2).map(|t| &t.token),
            Some(Token::Word(w)) if w.keyword == Keyword::AS || w.keyword == Keyword::NoKeyword
        );
        if spec.over_query && !aliased {
            let at = tokens[i].span;
            out.push(TokenWithSpan::new(Token::make_keyword("AS"), at));
            out.push(TokenWithSpan::new(
                Token::make_word(spec.table.as_deref().unwrap_or_default(), Some('`')),
                at,
            ));
        }
        windows.push(spec);
        i = j + 2;
    }
    Ok((out, windows))
}

/// The arguments of `TUMBLE(TABLE t, DESCRIPTOR(ts), size [, offset])`,
/// `HOP(TABLE t, DESCRIPTOR(ts), slide, size [, offset])` and
/// `CUMULATE(TABLE t, DESCRIPTOR(ts), step, size [, offset])`, positional or named.
fn window_tvf_args(
    function: &str,
    args: Vec<Vec<TokenWithSpan>>,
    span: Span,
) -> Result<(Vec<TokenWithSpan>, WindowSpec)> {
    // The interval parameters after DATA and TIMECOL, in Flink's order.
    let interval_names: &[&str] = match function {
        "TUMBLE" => &["SIZE", "OFFSET"],
        "HOP" => &["SLIDE", "SIZE", "OFFSET"],
        "SESSION" => &["GAP", "OFFSET"],
        _ => &["STEP", "SIZE", "OFFSET"],
    };
    let mut table: Option<Vec<TokenWithSpan>> = None;
    let mut time_column = None;
    let mut intervals: Vec<Option<i64>> = vec![None; interval_names.len()];
    for (position, mut arg) in args.into_iter().enumerate() {
        let arg_span = arg.first().map(span_of).unwrap_or(span);
        // Named arguments: DATA => ..., TIMECOL => ..., SIZE => ...
        let mut name = None;
        if arg.len() > 2 && matches!(arg[1].token, Token::RArrow) {
            name = Some(arg[0].token.to_string().to_ascii_uppercase());
            arg.drain(..2);
        }
        let slot = match name.as_deref() {
            Some("DATA") => 0,
            Some("TIMECOL") => 1,
            Some(other) => match interval_names.iter().position(|n| *n == other) {
                Some(i) => 2 + i,
                None => {
                    return Err(Error::Sql {
                        message: format!("{function} has no argument named {other}"),
                        span: arg_span,
                    })
                }
            },
            None => position,
        };
        match slot {
            0 => {
                if keyword_at(&arg, 0) != Some(Keyword::TABLE) || arg.len() < 2 {
                    return Err(Error::Sql {
                        message: format!("the first argument of {function} must be TABLE <name>"),
                        span: arg_span,
                    });
                }
                // `TABLE t PARTITION BY k` (SESSION): the keys come from the GROUP BY. A view
                // comes expanded: `TABLE (query) AS v`.
                let mut depth = 0usize;
                let mut end = arg.len();
                for (i, t) in arg.iter().enumerate().skip(1) {
                    match t.token {
                        Token::LParen => depth += 1,
                        Token::RParen => depth = depth.saturating_sub(1),
                        _ if depth == 0 && keyword_at(&arg, i) == Some(Keyword::PARTITION) => {
                            end = i;
                            break;
                        }
                        _ => {}
                    }
                }
                table = Some(arg[1..end].to_vec());
            }
            1 => {
                let ok = arg.len() == 4
                    && matches!(&arg[0].token, Token::Word(w) if w.value.eq_ignore_ascii_case("DESCRIPTOR"))
                    && matches!(arg[1].token, Token::LParen)
                    && matches!(arg[3].token, Token::RParen);
                match (&arg.get(2).map(|t| &t.token), ok) {
                    (Some(Token::Word(w)), true) => time_column = Some(w.value.clone()),
                    _ => {
                        return Err(Error::Sql {
                            message: format!(
                                "the time column of {function} must be DESCRIPTOR(column)"
                            ),
                            span: arg_span,
                        })
                    }
                }
            }
            n if n - 2 < interval_names.len() => {
                let expr = Parser::new(&GenericDialect {})
                    .with_tokens_with_locations(arg)
                    .parse_expr()
                    .map_err(|e| parser_error(e, arg_span))?;
                let ms = interval_ms(&expr).ok_or_else(|| Error::Sql {
                    message: format!(
                        "expected an interval such as INTERVAL '5' MINUTE, found {expr}"
                    ),
                    span: arg_span,
                })?;
                intervals[n - 2] = Some(ms);
            }
            _ => {
                return Err(Error::Sql {
                    message: format!(
                        "{function} takes at most {} arguments",
                        2 + interval_names.len()
                    ),
                    span: arg_span,
                })
            }
        }
    }
    let required = interval_names.len() - 1;
    let (Some(table), Some(time_column)) = (table, time_column) else {
        return Err(Error::Sql {
            message: format!(
                "{function} needs TABLE <name>, DESCRIPTOR(<time column>) and {}",
                interval_names[..required].join(", ").to_lowercase()
            ),
            span,
        });
    };
    let given: Option<Vec<i64>> = intervals[..required].iter().copied().collect();
    let Some(given) = given else {
        return Err(Error::Sql {
            message: format!(
                "{function} needs the intervals {}",
                interval_names[..required].join(", ")
            ),
            span,
        });
    };
    let offset_ms = intervals[required].unwrap_or(0);
    let kind = match function {
        "TUMBLE" => WindowKind::Tumble {
            size_ms: given[0],
            offset_ms,
        },
        "SESSION" if offset_ms != 0 => {
            return Err(Error::Sql {
                message: "SESSION takes no offset".into(),
                span,
            });
        }
        "SESSION" => WindowKind::Session { gap_ms: given[0] },
        "HOP" => WindowKind::Hop {
            slide_ms: given[0],
            size_ms: given[1],
            offset_ms,
        },
        _ => WindowKind::Cumulate {
            step_ms: given[0],
            size_ms: given[1],
            offset_ms,
        },
    };
    kind.validate(span)?;
    let over_query = matches!(table.first().map(|t| &t.token), Some(Token::LParen));
    let table_name = if over_query {
        // `(query) AS v`: the view's name.
        match table.last().map(|t| &t.token) {
            Some(Token::Word(w)) => w.value.clone(),
            _ => String::new(),
        }
    } else {
        table
            .iter()
            .map(|t| match &t.token {
                Token::Word(w) => w.value.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .concat()
    };
    let spec = WindowSpec {
        kind,
        time_column,
        table: Some(table_name),
        over_query,
        span,
    };
    if over_query {
        // The window columns come after the view's columns, computed from its rowtime:
        // `(SELECT *, pane_start(ts) AS window_start, ... FROM (query) AS v)`.
        let at = table[0].span;
        let wrap = |token: Token| TokenWithSpan::new(token, at);
        let mut out = vec![
            wrap(Token::LParen),
            wrap(Token::make_keyword("SELECT")),
            wrap(Token::Mul),
        ];
        for bound in [WINDOW_START, WINDOW_END, WINDOW_TIME] {
            out.push(wrap(Token::Comma));
            out.push(wrap(Token::make_word(&window_pane_function(bound), None)));
            out.push(wrap(Token::LParen));
            out.push(wrap(Token::make_word(&spec.time_column, Some('`'))));
            out.push(wrap(Token::RParen));
            out.push(wrap(Token::make_keyword("AS")));
            out.push(wrap(Token::make_word(bound, None)));
        }
        out.push(wrap(Token::make_keyword("FROM")));
        out.extend(table);
        out.push(wrap(Token::RParen));
        return Ok((out, spec));
    }
    Ok((table, spec))
}

fn function_name(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Function(f) => Some(f.name.to_string().to_ascii_uppercase()),
        _ => None,
    }
}

fn function_args(expr: &Expr) -> Vec<&Expr> {
    let Expr::Function(f) = expr else {
        return vec![];
    };
    let FunctionArguments::List(list) = &f.args else {
        return vec![];
    };
    list.args
        .iter()
        .filter_map(|a| match a {
            FunctionArg::Unnamed(FunctionArgExpr::Expr(e)) => Some(e),
            _ => None,
        })
        .collect()
}

fn expr_span(expr: &Expr) -> Span {
    location_span(expr.span().start)
}

/// Rewrites `GROUP BY TUMBLE(ts, INTERVAL ...)` and its auxiliary functions.
fn rewrite_group_window(query: &mut Query) -> Result<Option<WindowSpec>> {
    let SetExpr::Select(select) = query.body.as_mut() else {
        return Ok(None);
    };
    let mut window: Option<WindowSpec> = None;
    if let GroupByExpr::Expressions(exprs, _) = &mut select.group_by {
        let mut rewritten = Vec::with_capacity(exprs.len() + 1);
        for expr in exprs.drain(..) {
            let name = function_name(&expr);
            match name.as_deref() {
                Some(function @ ("TUMBLE" | "HOP" | "SESSION")) => {
                    let span = expr_span(&expr);
                    let args = function_args(&expr);
                    // TUMBLE(time_attr, size [, offset]); HOP(time_attr, slide, size [, offset]).
                    let usage = match function {
                        "TUMBLE" => "TUMBLE(time_attr, size_interval)",
                        "SESSION" => "SESSION(time_attr, gap_interval)",
                        _ => "HOP(time_attr, slide_interval, size_interval)",
                    };
                    let time_column = match args.first() {
                        Some(Expr::Identifier(id)) => id.value.clone(),
                        Some(Expr::CompoundIdentifier(ids)) => {
                            ids.last().map(|i| i.value.clone()).unwrap_or_default()
                        }
                        _ => {
                            return Err(Error::Sql {
                                message: format!("{usage} needs a time column first"),
                                span,
                            })
                        }
                    };
                    let intervals = args[1..]
                        .iter()
                        .map(|e| interval_ms(e))
                        .collect::<Option<Vec<i64>>>()
                        .ok_or_else(|| Error::Sql {
                            message: format!("{usage}: the arguments after the time column must be intervals such as INTERVAL '15' MINUTE"),
                            span,
                        })?;
                    let kind = match (function, intervals.as_slice()) {
                        ("TUMBLE", [size]) => WindowKind::Tumble {
                            size_ms: *size,
                            offset_ms: 0,
                        },
                        ("TUMBLE", [size, offset]) => WindowKind::Tumble {
                            size_ms: *size,
                            offset_ms: *offset,
                        },
                        ("SESSION", [gap]) => WindowKind::Session { gap_ms: *gap },
                        ("HOP", [slide, size]) => WindowKind::Hop {
                            slide_ms: *slide,
                            size_ms: *size,
                            offset_ms: 0,
                        },
                        ("HOP", [slide, size, offset]) => WindowKind::Hop {
                            slide_ms: *slide,
                            size_ms: *size,
                            offset_ms: *offset,
                        },
                        _ => {
                            return Err(Error::Sql {
                                message: format!("expected {usage}"),
                                span,
                            })
                        }
                    };
                    kind.validate(span)?;
                    if window.is_some() {
                        return Err(Error::Sql {
                            message: "a GROUP BY can have one window".into(),
                            span,
                        });
                    }
                    window = Some(WindowSpec {
                        kind,
                        time_column,
                        table: None,
                        over_query: false,
                        span,
                    });
                    // All three bounds are grouped so that *_START, *_END and *_ROWTIME can all be selected.
                    rewritten.push(Expr::Identifier(Ident::new(WINDOW_START)));
                    rewritten.push(Expr::Identifier(Ident::new(WINDOW_END)));
                    rewritten.push(Expr::Identifier(Ident::new(WINDOW_TIME)));
                }
                Some(n @ "CUMULATE") => {
                    return Err(Error::Unsupported {
                        construct: format!("the {n} window"),
                        span: expr_span(&expr),
                    })
                }
                _ => rewritten.push(expr),
            }
        }
        *exprs = rewritten;
    }
    if let Some(w) = window.as_mut() {
        window_over_subquery(select, w)?;
    }
    // Auxiliary functions in the projection and HAVING.
    let mut failure: Option<Error> = None;
    let window_name = window.as_ref().map(|w| w.kind.name());
    let _ = visit_expressions_mut(select.as_mut(), |expr: &mut Expr| {
        let name = function_name(expr);
        let replacement = match name.as_deref() {
            Some("TUMBLE_START" | "HOP_START" | "SESSION_START") => Some(WINDOW_START),
            Some("TUMBLE_END" | "HOP_END" | "SESSION_END") => Some(WINDOW_END),
            Some("TUMBLE_ROWTIME" | "HOP_ROWTIME" | "SESSION_ROWTIME") => Some(WINDOW_TIME),
            Some(n @ ("TUMBLE_PROCTIME" | "HOP_PROCTIME" | "SESSION_PROCTIME")) => {
                failure = Some(Error::Unsupported {
                    construct: n.to_string(),
                    span: expr_span(expr),
                });
                return ControlFlow::Break(());
            }
            _ => None,
        };
        if let Some(column) = replacement {
            let name = name.unwrap_or_default();
            let wanted = name.split('_').next().unwrap_or_default();
            if window_name != Some(wanted) {
                failure = Some(Error::Sql {
                    message: format!("{name} needs GROUP BY {wanted}(...) in the same query"),
                    span: expr_span(expr),
                });
                return ControlFlow::Break(());
            }
            *expr = Expr::Identifier(Ident::new(column));
        }
        ControlFlow::Continue(())
    });
    match failure {
        Some(e) => Err(e),
        None => Ok(window),
    }
}

/// A legacy group window over a subquery (or a view, which comes expanded as one): the time
/// column is one of the subquery's, so the window columns are computed after it, as for a
/// window TVF over a view: `FROM (SELECT *, pane(ts) AS window_start, ... FROM (sub) AS a)
/// AS a`. Over a table they are added at its source.
fn window_over_subquery(
    select: &mut datafusion::sql::sqlparser::ast::Select,
    window: &mut WindowSpec,
) -> Result<()> {
    use datafusion::sql::sqlparser::ast::TableFactor;
    let [from] = select.from.as_mut_slice() else {
        return Ok(());
    };
    if !from.joins.is_empty() {
        return Ok(());
    }
    let TableFactor::Derived {
        subquery, alias, ..
    } = &mut from.relation
    else {
        return Ok(());
    };
    let quoted = |name: &str| format!("`{}`", name.replace('`', "``"));
    let panes: Vec<String> = [WINDOW_START, WINDOW_END, WINDOW_TIME]
        .iter()
        .map(|bound| {
            format!(
                "{}({}) AS {bound}",
                window_pane_function(bound),
                quoted(&window.time_column)
            )
        })
        .collect();
    let inner = alias
        .as_ref()
        .map(|a| a.name.value.clone())
        .unwrap_or_else(|| "__weir_windowed".into());
    let text = format!(
        "SELECT *, {} FROM (SELECT 1) AS {}",
        panes.join(", "),
        quoted(&inner)
    );
    let mut wrapper = Parser::new(&GenericDialect {})
        .try_with_sql(&text)
        .and_then(|mut p| p.parse_query())
        .map_err(|e| parser_error(e, window.span))?;
    let SetExpr::Select(wrapped) = wrapper.body.as_mut() else {
        return Err(Error::Internal("the window wrapper is not a SELECT".into()));
    };
    match wrapped.from.first_mut().map(|f| &mut f.relation) {
        Some(TableFactor::Derived {
            subquery: inner, ..
        }) => *inner = subquery.clone(),
        _ => {
            return Err(Error::Internal(
                "the window wrapper reads no subquery".into(),
            ))
        }
    }
    *subquery = wrapper;
    window.over_query = true;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sql::script::{parse_script, Statement};
    use std::collections::HashMap;

    fn parse(sql: &str) -> Result<ParsedQuery> {
        match parse_script(sql, &HashMap::new())?.remove(0) {
            Statement::Query { query, .. } | Statement::Insert { query, .. } => parse_query(query),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn legacy_group_window_becomes_columns() {
        let q = parse(
            "SELECT TUMBLE_START(`timestamp`, INTERVAL '15' MINUTE) AS ws, tenant_id, COUNT(*)
             FROM src GROUP BY TUMBLE(`timestamp`, INTERVAL '15' MINUTE), tenant_id",
        )
        .unwrap();
        let w = q.window.unwrap();
        assert_eq!(
            w.kind,
            WindowKind::Tumble {
                size_ms: 900_000,
                offset_ms: 0
            }
        );
        assert_eq!(w.time_column, "timestamp");
        let text = q.query.to_string();
        assert!(text.contains("SELECT window_start AS ws"), "{text}");
        assert!(
            text.contains("GROUP BY window_start, window_end, window_time, tenant_id"),
            "{text}"
        );
    }

    #[test]
    fn window_tvf_becomes_its_table() {
        let q = parse(
            "SELECT window_start, SUM(x) FROM TABLE(TUMBLE(TABLE events, DESCRIPTOR(ts), INTERVAL '5' SECOND)) GROUP BY window_start, window_end",
        )
        .unwrap();
        let w = q.window.unwrap();
        assert_eq!(w.table.as_deref(), Some("events"));
        assert_eq!(w.kind.size_ms(), 5_000);
        assert!(
            q.query.to_string().contains("FROM events GROUP BY"),
            "{}",
            q.query
        );
    }

    #[test]
    fn named_tvf_arguments() {
        let q = parse(
            "SELECT window_start FROM TABLE(TUMBLE(DATA => TABLE e, TIMECOL => DESCRIPTOR(ts), SIZE => INTERVAL '1' MINUTE)) GROUP BY window_start, window_end",
        )
        .unwrap();
        assert_eq!(q.window.unwrap().kind.size_ms(), 60_000);
    }

    #[test]
    fn session_in_both_syntaxes() {
        let legacy = parse("SELECT SESSION_START(ts, INTERVAL '1' MINUTE), k FROM t\nGROUP BY SESSION(ts, INTERVAL '1' MINUTE), k").unwrap();
        assert_eq!(
            legacy.window.unwrap().kind,
            WindowKind::Session { gap_ms: 60_000 }
        );
        let tvf = parse("SELECT window_start, k FROM TABLE(SESSION(TABLE t PARTITION BY k, DESCRIPTOR(ts), INTERVAL '1' MINUTE)) GROUP BY window_start, window_end, k").unwrap();
        let w = tvf.window.unwrap();
        assert_eq!(
            (w.kind, w.table.as_deref()),
            (WindowKind::Session { gap_ms: 60_000 }, Some("t"))
        );
        let err = parse("SELECT 1 FROM t\nGROUP BY CUMULATE(ts, INTERVAL '1' MINUTE)").unwrap_err();
        assert_eq!(
            err.span(),
            Some(Span {
                line: 2,
                column: 10
            })
        );
    }

    #[test]
    fn hop_in_both_syntaxes() {
        let legacy = parse("SELECT HOP_END(ts, INTERVAL '1' MINUTE, INTERVAL '5' MINUTE), COUNT(*) FROM t GROUP BY HOP(ts, INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)").unwrap();
        let expected = WindowKind::Hop {
            slide_ms: 60_000,
            size_ms: 300_000,
            offset_ms: 0,
        };
        assert_eq!(legacy.window.unwrap().kind, expected);
        let tvf = parse("SELECT window_end, COUNT(*) FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)) GROUP BY window_start, window_end").unwrap();
        assert_eq!(tvf.window.unwrap().kind, expected);
        let err = parse("SELECT COUNT(*) FROM TABLE(HOP(TABLE t, DESCRIPTOR(ts), INTERVAL '2' MINUTE, INTERVAL '5' MINUTE)) GROUP BY window_start, window_end").unwrap_err();
        assert!(
            err.to_string().contains("whole multiple of its slide"),
            "{err}"
        );
        let err = parse("SELECT TUMBLE_END(ts, INTERVAL '1' MINUTE) FROM t GROUP BY HOP(ts, INTERVAL '1' MINUTE, INTERVAL '5' MINUTE)").unwrap_err();
        assert!(
            err.to_string().contains("TUMBLE_END needs GROUP BY TUMBLE"),
            "{err}"
        );
    }

    #[test]
    fn pane_geometry() {
        let hop = WindowKind::Hop {
            slide_ms: 10,
            size_ms: 30,
            offset_ms: 0,
        };
        assert_eq!(hop.pane_start(25), 20);
        assert_eq!(hop.last_window_end(20), 50);
        assert_eq!(hop.window_start(50), 20);
        let cumulate = WindowKind::Cumulate {
            step_ms: 10,
            size_ms: 30,
            offset_ms: 0,
        };
        assert_eq!(cumulate.pane_start(25), 20);
        assert_eq!(cumulate.last_window_end(10), 30);
        assert_eq!(cumulate.window_start(20), 0);
        assert_eq!(cumulate.window_start(40), 30);
        assert_eq!(cumulate.firing_period(), Some((10, 0)));
    }

    #[test]
    fn match_recognize_is_reported_where_it_is() {
        let err = parse("SELECT *\nFROM t MATCH_RECOGNIZE (PARTITION BY a)").unwrap_err();
        assert_eq!(err.span(), Some(Span { line: 2, column: 8 }));
    }

    #[test]
    fn syntax_errors_carry_the_position() {
        let err = parse("SELECT a,\n  FROM").unwrap_err();
        assert_eq!(err.span().map(|s| s.line), Some(2), "{err}");
    }
}
