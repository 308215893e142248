//! Macro invocations laid out by hand. prettyplease formats items, but prints a macro's
//! input as one stream of tokens; the generated file describes each table to
//! `ormkit::entity!` (and each enum and composite to their macros) one column per line, so
//! those invocations are written here as text, in the layout rustfmt would give them, and
//! spliced into prettyplease's output where a placeholder item stands.

use proc_macro2::{Literal, TokenStream};
use quote::{format_ident, quote};
use std::cell::RefCell;

/// The widest line this layout writes, indentation included (rustfmt's default).
const WIDTH: usize = 100;

/// Macro invocations waiting to be spliced in, in order.
#[derive(Debug, Default)]
pub(crate) struct Splices(RefCell<Vec<Vec<String>>>);

impl Splices {
    /// Registers `lines` (indented from zero) and returns the placeholder item to emit where
    /// they go.
    pub(crate) fn item(&self, lines: Vec<String>) -> TokenStream {
        let mut all = self.0.borrow_mut();
        let name = format_ident!("__ORMKIT_SPLICE_{}", all.len());
        all.push(lines);
        quote!(const #name: () = ();)
    }

    /// `code` (prettyplease's output) with every placeholder replaced by its lines,
    /// indented as the placeholder was.
    pub(crate) fn apply(self, code: &str) -> String {
        let splices = self.0.into_inner();
        let mut out = String::with_capacity(code.len() + splices.len() * 512);
        for line in code.lines() {
            let trimmed = line.trim_start();
            let index = trimmed
                .strip_prefix("const __ORMKIT_SPLICE_")
                .and_then(|rest| rest.strip_suffix(": () = ();"))
                .and_then(|n| n.parse::<usize>().ok());
            match index.and_then(|i| splices.get(i)) {
                Some(lines) => {
                    let indent = &line[..line.len() - trimmed.len()];
                    for l in lines {
                        if l.is_empty() {
                            out.push('\n');
                        } else {
                            out.push_str(indent);
                            out.push_str(l);
                            out.push('\n');
                        }
                    }
                }
                None => {
                    out.push_str(line);
                    out.push('\n');
                }
            }
        }
        out
    }
}

/// A string literal, escaped as Rust source.
pub(crate) fn lit(text: &str) -> String {
    Literal::string(text).to_string()
}

/// What prettyplease writes for the one `item` after `prefix` and before the final `;`, or
/// `None` when `item` does not parse.
fn unparse_inside(item: TokenStream, prefix: &str) -> Option<String> {
    let file: syn::File = syn::parse2(item).ok()?;
    let text = prettyplease::unparse(&file);
    let text = text.trim();
    let text = text.strip_prefix(prefix).unwrap_or(text);
    Some(text.strip_suffix(';').unwrap_or(text).to_owned())
}

/// A type as prettyplease writes it (`Option<String>`, `(i32, UserId)`).
pub(crate) fn ty(tokens: &TokenStream) -> String {
    let Some(text) = unparse_inside(quote!(type T = #tokens;), "type T = ") else {
        return tokens.to_string();
    };
    // A type too long for one line comes back broken over several: join it again.
    text.lines()
        .map(str::trim)
        .collect::<Vec<_>>()
        .join(" ")
        .replace("< ", "<")
        .replace(", >", ">")
}

/// An expression as prettyplease writes it, on one line.
pub(crate) fn expr(tokens: &TokenStream) -> String {
    let Some(text) = unparse_inside(quote!(const X: () = #tokens;), "const X: () = ") else {
        return tokens.to_string();
    };
    let mut joined = String::with_capacity(text.len());
    for line in text.lines().map(str::trim) {
        // Rejoin what prettyplease broke over lines: no space after an opening bracket or
        // before a closing one, none before a trailing comma's bracket.
        let after_open = joined.is_empty() || joined.ends_with('(') || joined.ends_with('[');
        let closing = line.starts_with(')') || line.starts_with(']');
        if !after_open && !closing {
            joined.push(' ');
        }
        joined.push_str(line);
    }
    joined.replace(",)", ")").replace(",]", "]")
}

/// `pub const NAME: Type = value;` laid out on one line, or with the value on the next
/// line one level deeper, within `room`.
pub(crate) fn constant(head: &str, value: &str, room: usize) -> Vec<String> {
    let one = format!("{head} = {value};");
    if one.len() <= room {
        return vec![one];
    }
    vec![format!("{head} ="), format!("    {value};")]
}

/// Lines being laid out at some indentation.
#[derive(Debug, Default)]
pub(crate) struct Lines {
    pub(crate) lines: Vec<String>,
    indent: usize,
}

impl Lines {
    pub(crate) fn line(&mut self, text: impl AsRef<str>) {
        self.lines
            .push(format!("{}{}", "    ".repeat(self.indent), text.as_ref()));
    }

    /// Lines written one level deeper.
    pub(crate) fn nested(&mut self, f: impl FnOnce(&mut Lines)) {
        self.indent += 1;
        f(self);
        self.indent -= 1;
    }

    /// `head [a, b, c]tail` on one line if it fits in `room`, else `head [` then the items
    /// filling lines one level deeper, then `]tail`.
    pub(crate) fn list(&mut self, head: &str, items: &[String], tail: &str, room: usize) {
        let (open, close) = ("[", "]");
        self.fill(head, open, items, close, tail, room);
    }

    /// `head [a, b]tail` on one line if it fits in `room`, else one item per line.
    pub(crate) fn rows(&mut self, head: &str, items: &[String], tail: &str, room: usize) {
        let width = room.saturating_sub(self.indent * 4);
        let one = format!("{head}[{}]{tail}", items.join(", "));
        if one.len() <= width {
            self.line(one);
            return;
        }
        self.line(format!("{head}["));
        self.nested(|inner| items.iter().for_each(|i| inner.line(format!("{i},"))));
        self.line(format!("]{tail}"));
    }

    /// Like [`list`](Self::list) with other brackets (`open` may be empty: the items follow
    /// `head` directly, one level deeper, and `close` ends them on its own line).
    pub(crate) fn fill(
        &mut self,
        head: &str,
        open: &str,
        items: &[String],
        close: &str,
        tail: &str,
        room: usize,
    ) {
        let width = room.saturating_sub(self.indent * 4);
        let one = format!("{head}{open}{}{close}{tail}", items.join(", "));
        if one.len() <= width && !open.is_empty() {
            self.line(one);
            return;
        }
        self.line(format!("{head}{}", open.trim_end()));
        self.nested(|inner| {
            let width = width.saturating_sub(4);
            let mut current = String::new();
            for item in items {
                let piece = format!("{item},");
                if !current.is_empty() && current.len() + 1 + piece.len() > width {
                    inner.line(std::mem::take(&mut current));
                }
                if !current.is_empty() {
                    current.push(' ');
                }
                current.push_str(&piece);
            }
            if !current.is_empty() {
                inner.line(current);
            }
        });
        self.line(format!("{}{tail}", close.trim_start()));
    }
}

/// The room a splice has, given how deep its placeholder sits (the entities module and a
/// schema module each indent by four).
pub(crate) fn room(depth: usize) -> usize {
    WIDTH.saturating_sub(4 * (depth + 1))
}
