//! The CSV dialect of kube's `--token-auth-file` and `--basic-auth-file`: Go's
//! `encoding/csv` with `TrimLeadingSpace` and a variable number of fields per record.
//! Blank lines are skipped, `"` quotes a field (`""` inside is a quote), a quoted field
//! may span lines, a quote inside an unquoted field is an error.
//!
//! Errors name the line and column only, never the content: these files hold secrets.

/// One record and the line it starts on (1-based).
#[derive(PartialEq, Eq)]
pub(crate) struct Record {
    pub line: usize,
    pub fields: Vec<String>,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Fields may be secrets: show only their number.
        f.debug_struct("Record").field("line", &self.line).field("fields", &self.fields.len()).finish()
    }
}

/// A syntax error at a position of the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}, column {column}: {reason}")]
pub struct CsvError {
    pub line: usize,
    pub column: usize,
    pub reason: &'static str,
}

const BARE_QUOTE: &str = "bare \" in non-quoted field";
const EXTRANEOUS_QUOTE: &str = "extraneous or missing \" in quoted field";

/// Parses the whole text into records.
pub(crate) fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    let mut lines = text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).enumerate();
    let mut records = Vec::new();
    while let Some((idx, first)) = lines.next() {
        if first.is_empty() {
            continue;
        }
        let start = idx + 1;
        let mut fields = Vec::new();
        let mut line_no = start;
        let mut line_start_len = first.len();
        let mut rest = first;
        loop {
            rest = rest.trim_start();
            if !rest.starts_with('"') {
                let (field, next) = match rest.find(',') {
                    Some(i) => (&rest[..i], Some(&rest[i + 1..])),
                    None => (rest, None),
                };
                if let Some(q) = field.find('"') {
                    let column = line_start_len - rest.len() + q + 1;
                    return Err(CsvError { line: line_no, column, reason: BARE_QUOTE });
                }
                fields.push(field.to_string());
                match next {
                    Some(n) => {
                        rest = n;
                        continue;
                    }
                    None => break,
                }
            }
            // Quoted field, possibly over several lines.
            let mut field = String::new();
            rest = &rest[1..];
            loop {
                if let Some(i) = rest.find('"') {
                    field.push_str(&rest[..i]);
                    rest = &rest[i + 1..];
                    if let Some(after) = rest.strip_prefix('"') {
                        field.push('"');
                        rest = after;
                        continue;
                    }
                    if let Some(after) = rest.strip_prefix(',') {
                        fields.push(std::mem::take(&mut field));
                        rest = after;
                        break;
                    }
                    if rest.is_empty() {
                        fields.push(std::mem::take(&mut field));
                        records.push(Record { line: start, fields: std::mem::take(&mut fields) });
                        break;
                    }
                    let column = line_start_len - rest.len();
                    return Err(CsvError { line: line_no, column, reason: EXTRANEOUS_QUOTE });
                }
                field.push_str(rest);
                field.push('\n');
                match lines.next() {
                    Some((i, next)) => {
                        line_no = i + 1;
                        line_start_len = next.len();
                        rest = next;
                    }
                    None => {
                        return Err(CsvError { line: start, column: 1, reason: EXTRANEOUS_QUOTE });
                    }
                }
            }
            if fields.is_empty() {
                // The record was closed at the end of a quoted field.
                break;
            }
        }
        if !fields.is_empty() {
            records.push(Record { line: start, fields });
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(text: &str) -> Vec<(usize, Vec<String>)> {
        parse(text).unwrap().into_iter().map(|r| (r.line, r.fields)).collect()
    }

    fn v(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn plain_quoted_and_blank_lines() {
        let text = "t1,alice,1\n\n t2, bob ,2,\"a,b\"\r\nt3,\"c\"\"d\",3\n";
        assert_eq!(
            fields(text),
            vec![
                (1, v(&["t1", "alice", "1"])),
                (3, v(&["t2", "bob ", "2", "a,b"])),
                (4, v(&["t3", "c\"d", "3"])),
            ]
        );
    }

    #[test]
    fn quoted_field_spans_lines_and_trailing_empty_field() {
        assert_eq!(
            fields("a,\"x\ny\",b\nc,d,\n"),
            vec![(1, v(&["a", "x\ny", "b"])), (3, v(&["c", "d", ""]))]
        );
    }

    #[test]
    fn errors_carry_positions() {
        let e = parse("ok,ok,ok\nab\"c,d,e\n").unwrap_err();
        assert_eq!((e.line, e.reason), (2, BARE_QUOTE));
        let e = parse("a,\"b\"x,c\n").unwrap_err();
        assert_eq!((e.line, e.reason), (1, EXTRANEOUS_QUOTE));
        let e = parse("a,b\nc,\"unterminated\n").unwrap_err();
        assert_eq!((e.line, e.reason), (2, EXTRANEOUS_QUOTE));
    }
}
