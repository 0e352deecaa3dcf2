//! Kubernetes resource quantities (k8s.io/apimachinery `api/resource.Quantity`): parsing
//! (`100m`, `1`, `1Gi`, `500M`, `1e3`), exact comparison and arithmetic at nano precision, and
//! the canonical string kube prints in LimitRanger and ResourceQuota messages.

use std::cmp::Ordering;
use std::fmt;

/// How a quantity prints (`resource.Format`), taken from the suffix it was parsed with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// `e3`, `E6`.
    DecimalExponent,
    /// `Ki`, `Mi`, ... (powers of 1024).
    BinarySI,
    /// `n`, `u`, `m`, `k`, `M`, ... and plain numbers.
    DecimalSI,
}

/// A quantity held exactly in units of 10^-9 (values below a nano are rounded up, as kube does).
#[derive(Debug, Clone, Copy)]
pub struct Quantity {
    nanos: i128,
    format: Format,
}

/// A string that is not a quantity.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'")]
pub struct QuantityError;

const NANO: i128 = 1_000_000_000;
/// Largest |value| accepted, far above any real resource (about 10^29 nanos).
const LIMIT: i128 = 100_000_000_000_000_000_000_000_000_000;

impl PartialEq for Quantity {
    fn eq(&self, other: &Self) -> bool {
        self.nanos == other.nanos
    }
}
impl Eq for Quantity {}
impl PartialOrd for Quantity {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Quantity {
    fn cmp(&self, other: &Self) -> Ordering {
        self.nanos.cmp(&other.nanos)
    }
}

fn pow10(e: u32) -> i128 {
    10i128.pow(e)
}

impl Quantity {
    pub fn zero() -> Self {
        Self { nanos: 0, format: Format::DecimalSI }
    }

    /// An integer count (`pods=3`).
    pub fn from_int(v: i64) -> Self {
        Self { nanos: i128::from(v) * NANO, format: Format::DecimalSI }
    }

    /// A value in thousandths (`NewMilliQuantity`).
    pub fn from_milli(v: i64) -> Self {
        Self { nanos: i128::from(v) * 1_000_000, format: Format::DecimalSI }
    }

    pub fn format(&self) -> Format {
        self.format
    }

    pub fn is_zero(&self) -> bool {
        self.nanos == 0
    }

    /// `Value()`: rounded up to an integer.
    pub fn value(&self) -> i128 {
        ceil_div(self.nanos, NANO)
    }

    /// `MilliValue()`: thousandths, rounded up.
    pub fn milli_value(&self) -> i128 {
        ceil_div(self.nanos, 1_000_000)
    }

    /// Exact value in nanos.
    pub fn nanos(&self) -> i128 {
        self.nanos
    }

    /// Parses kube's quantity syntax.
    pub fn parse(s: &str) -> Result<Self, QuantityError> {
        let s = s.trim();
        let (negative, rest) = match s.as_bytes().first() {
            Some(b'-') => (true, &s[1..]),
            Some(b'+') => (false, &s[1..]),
            _ => (false, s),
        };
        let num_len = rest.bytes().take_while(|b| b.is_ascii_digit() || *b == b'.').count();
        let (num, suffix) = rest.split_at(num_len);
        let (int_part, frac_part) = match num.split_once('.') {
            Some((i, f)) if !f.contains('.') => (i, f),
            Some(_) => return Err(QuantityError),
            None => (num, ""),
        };
        if int_part.is_empty() && frac_part.is_empty() {
            return Err(QuantityError);
        }
        let (base, exp, format) = parse_suffix(suffix)?;
        // digits as an integer mantissa with a decimal exponent
        let digits = format!("{int_part}{frac_part}");
        let digits = digits.trim_start_matches('0');
        if digits.len() > 38 {
            return Err(QuantityError);
        }
        let mantissa: i128 = if digits.is_empty() { 0 } else { digits.parse().map_err(|_| QuantityError)? };
        let mut dec_exp = exp - frac_part.len() as i32 + 9; // in nanos
        let mut value = mantissa;
        if base == 1024 {
            let mult = 1i128 << (10 * exp.unsigned_abs());
            value = value.checked_mul(mult).ok_or(QuantityError)?;
            dec_exp = 9 - frac_part.len() as i32;
        }
        let nanos = if dec_exp >= 0 {
            if value != 0 && dec_exp > 38 {
                return Err(QuantityError);
            }
            value.checked_mul(pow10(dec_exp.unsigned_abs())).ok_or(QuantityError)?
        } else if dec_exp < -38 {
            i128::from(value != 0)
        } else {
            ceil_div(value, pow10(dec_exp.unsigned_abs()))
        };
        if nanos > LIMIT {
            return Err(QuantityError);
        }
        Ok(Self { nanos: if negative { -nanos } else { nanos }, format })
    }

    /// Sum; a zero receiver takes the other's format, as kube's `Add` does.
    pub fn add(&self, other: &Self) -> Self {
        let format = if self.nanos == 0 { other.format } else { self.format };
        Self { nanos: self.nanos.saturating_add(other.nanos), format }
    }

    /// Difference; a zero receiver takes the other's format, as kube's `Sub` does.
    pub fn sub(&self, other: &Self) -> Self {
        let format = if self.nanos == 0 { other.format } else { self.format };
        Self { nanos: self.nanos.saturating_sub(other.nanos), format }
    }

    /// The same value printed in another format.
    pub fn with_format(mut self, format: Format) -> Self {
        self.format = format;
        self
    }
}

fn ceil_div(a: i128, b: i128) -> i128 {
    let q = a / b;
    if a % b != 0 && a > 0 {
        q + 1
    } else {
        q
    }
}

/// (base, exponent, format) for a suffix: `Ki` is (1024, 1), `m` is (10, -3), `e6` is (10, 6).
fn parse_suffix(s: &str) -> Result<(i32, i32, Format), QuantityError> {
    let dec = |e| Ok((10, e, Format::DecimalSI));
    let bin = |e| Ok((1024, e, Format::BinarySI));
    match s {
        "" => dec(0),
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => bin(1),
        "Mi" => bin(2),
        "Gi" => bin(3),
        "Ti" => bin(4),
        "Pi" => bin(5),
        "Ei" => bin(6),
        _ => {
            let rest = s.strip_prefix(['e', 'E']).ok_or(QuantityError)?;
            let e: i32 = rest.parse().map_err(|_| QuantityError)?;
            if !(-40..=40).contains(&e) {
                return Err(QuantityError);
            }
            Ok((10, e, Format::DecimalExponent))
        }
    }
}

impl fmt::Display for Quantity {
    /// kube's canonical form: the largest suffix that keeps an integer mantissa.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.nanos == 0 {
            return f.write_str("0");
        }
        if self.format == Format::BinarySI && self.nanos % NANO == 0 {
            let mut v = self.nanos / NANO;
            let mut i = 0;
            while i < 6 && v % 1024 == 0 && v.abs() >= 1024 {
                v /= 1024;
                i += 1;
            }
            // kube prints small or non-binary-aligned values in decimal
            if i > 0 || v.abs() < 1024 {
                let suffix = ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"][i];
                return write!(f, "{v}{suffix}");
            }
        }
        let mut exp = 18i32;
        while exp > -9 && self.nanos % pow10((exp + 9) as u32) != 0 {
            exp -= 3;
        }
        let mantissa = self.nanos / pow10((exp + 9) as u32);
        if self.format == Format::DecimalExponent {
            if exp == 0 {
                return write!(f, "{mantissa}");
            }
            return write!(f, "{mantissa}e{exp}");
        }
        let suffix = match exp {
            -9 => "n",
            -6 => "u",
            -3 => "m",
            0 => "",
            3 => "k",
            6 => "M",
            9 => "G",
            12 => "T",
            15 => "P",
            _ => "E",
        };
        write!(f, "{mantissa}{suffix}")
    }
}

/// Parses a quantity held in a JSON value (string or number).
pub fn from_json(v: &serde_json::Value) -> Option<Quantity> {
    match v {
        serde_json::Value::String(s) => Quantity::parse(s).ok(),
        serde_json::Value::Number(n) => Quantity::parse(&n.to_string()).ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str) -> Quantity {
        Quantity::parse(s).unwrap()
    }

    #[test]
    fn parses_kube_forms() {
        assert_eq!(q("100m").milli_value(), 100);
        assert_eq!(q("1").milli_value(), 1000);
        assert_eq!(q("1Gi").value(), 1 << 30);
        assert_eq!(q("500M").value(), 500_000_000);
        assert_eq!(q("1e3").value(), 1000);
        assert_eq!(q("1.5").milli_value(), 1500);
        assert_eq!(q(".5Ki").value(), 512);
        assert_eq!(q("-2").value(), -2);
        assert_eq!(q("1n").nanos(), 1);
        assert_eq!(q("1E-3").milli_value(), 1);
    }

    #[test]
    fn rejects_garbage() {
        for bad in ["", "abc", "1.2.3", "1Qi", "1 Gi", "m", "1e", "1ee3"] {
            assert!(Quantity::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn compares_across_suffixes() {
        assert!(q("1Gi") > q("1G"));
        assert!(q("999m") < q("1"));
        assert_eq!(q("1000m"), q("1"));
        assert_eq!(q("1Ki"), q("1024"));
        assert!(q("128Mi") < q("1Gi"));
    }

    #[test]
    fn canonical_strings_match_kube() {
        assert_eq!(q("1000m").to_string(), "1");
        assert_eq!(q("1500m").to_string(), "1500m");
        assert_eq!(q("0.5").to_string(), "500m");
        assert_eq!(q("2048Ki").to_string(), "2Mi");
        assert_eq!(q("1.5Gi").to_string(), "1536Mi");
        assert_eq!(q("1e3").to_string(), "1e3");
        assert_eq!(q("1000").to_string(), "1k");
        assert_eq!(q("0").to_string(), "0");
        assert_eq!(q("512").to_string(), "512");
        assert_eq!(q("100m").add(&q("400m")).to_string(), "500m");
        assert_eq!(Quantity::from_int(3).to_string(), "3");
    }

    #[test]
    fn rounds_values_up() {
        assert_eq!(q("1500m").value(), 2);
        assert_eq!(q("1u").milli_value(), 1);
    }
}
