//! Minimal hand-written JSON writer (std only).
//!
//! Only what the wire format needs: objects, arrays, strings, integers,
//! booleans and null. Output is compact (no spaces) and field order is the
//! order of the calls, which keeps the golden sample file byte-stable.

use std::fmt::Write as _;

pub(crate) struct Json {
    out: String,
    /// One entry per open container: has a value already been written?
    first: Vec<bool>,
}

impl Json {
    pub(crate) fn new() -> Json {
        Json { out: String::with_capacity(256), first: Vec::with_capacity(8) }
    }

    pub(crate) fn finish(self) -> String {
        debug_assert!(self.first.is_empty(), "unbalanced JSON containers");
        self.out
    }

    fn sep(&mut self) {
        if let Some(first) = self.first.last_mut() {
            if *first {
                *first = false;
            } else {
                self.out.push(',');
            }
        }
    }

    fn key(&mut self, k: &str) {
        self.sep();
        write_str(&mut self.out, k);
        self.out.push(':');
        // the value that follows must not emit another separator
        if let Some(first) = self.first.last_mut() {
            *first = true;
        }
    }

    pub(crate) fn begin_obj(&mut self) -> &mut Self {
        self.sep();
        self.out.push('{');
        self.first.push(true);
        self
    }
    pub(crate) fn end_obj(&mut self) -> &mut Self {
        self.first.pop();
        self.out.push('}');
        self.after_value();
        self
    }
    pub(crate) fn end_arr(&mut self) -> &mut Self {
        self.first.pop();
        self.out.push(']');
        self.after_value();
        self
    }
    fn after_value(&mut self) {
        if let Some(first) = self.first.last_mut() {
            *first = false;
        }
    }

    pub(crate) fn obj(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.out.push('{');
        self.first.push(true);
        self
    }
    pub(crate) fn arr(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.out.push('[');
        self.first.push(true);
        self
    }
    pub(crate) fn str(&mut self, k: &str, v: &str) -> &mut Self {
        self.key(k);
        write_str(&mut self.out, v);
        self.after_value();
        self
    }
    pub(crate) fn opt_str(&mut self, k: &str, v: Option<&str>) -> &mut Self {
        match v {
            Some(v) => self.str(k, v),
            None => self.null(k),
        }
    }
    pub(crate) fn u64(&mut self, k: &str, v: u64) -> &mut Self {
        self.key(k);
        let _ = write!(self.out, "{v}");
        self.after_value();
        self
    }
    pub(crate) fn opt_u64(&mut self, k: &str, v: Option<u64>) -> &mut Self {
        match v {
            Some(v) => self.u64(k, v),
            None => self.null(k),
        }
    }
    pub(crate) fn bool(&mut self, k: &str, v: bool) -> &mut Self {
        self.key(k);
        self.out.push_str(if v { "true" } else { "false" });
        self.after_value();
        self
    }
    pub(crate) fn null(&mut self, k: &str) -> &mut Self {
        self.key(k);
        self.out.push_str("null");
        self.after_value();
        self
    }
    /// Array element: a bare integer.
    pub(crate) fn item_u64(&mut self, v: u64) -> &mut Self {
        self.sep();
        let _ = write!(self.out, "{v}");
        self
    }
}

/// Writes `s` as a JSON string literal (RFC 8259 escaping; non-ASCII is
/// emitted as UTF-8, control characters as `\u00XX`).
pub(crate) fn write_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nested_and_escaped() {
        let mut j = Json::new();
        j.begin_obj()
            .str("a", "q\"\\\n\u{1}é")
            .u64("n", 7)
            .arr("xs")
            .item_u64(1)
            .item_u64(2)
            .begin_obj()
            .bool("t", true)
            .end_obj()
            .end_arr()
            .obj("o")
            .null("z")
            .opt_str("s", None)
            .end_obj()
            .end_obj();
        assert_eq!(
            j.finish(),
            r#"{"a":"q\"\\\n\u0001é","n":7,"xs":[1,2,{"t":true}],"o":{"z":null,"s":null}}"#
        );
    }
}
