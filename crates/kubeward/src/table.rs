//! Tables as kubectl prints them: upper-case headers, columns padded to their widest cell
//! and separated by three spaces.

/// Prints `rows` under `headers`.
pub fn print<const N: usize>(headers: &[&str; N], rows: &[[String; N]]) {
    print!("{}", render(headers, rows));
}

pub fn render<const N: usize>(headers: &[&str; N], rows: &[[String; N]]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line = |cells: Vec<&str>| {
        let mut out = String::new();
        for (i, (cell, w)) in cells.iter().zip(&widths).enumerate() {
            if i + 1 == N {
                out.push_str(cell);
            } else {
                out.push_str(&format!("{cell:<w$}   "));
            }
        }
        out.trim_end().to_string() + "\n"
    };
    let mut out = line(headers.to_vec());
    for row in rows {
        out.push_str(&line(row.iter().map(String::as_str).collect()));
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn columns_line_up() {
        let t = super::render(&["A", "LONGER"], &[["xyz".to_string(), "1".to_string()]]);
        assert_eq!(t, "A     LONGER\nxyz   1\n");
    }
}
