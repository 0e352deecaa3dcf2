//! The few DER encodings a certificate needs (X.690): tag-length-value, SEQUENCE, INTEGER,
//! OBJECT IDENTIFIER, BIT STRING, OCTET STRING, BOOLEAN, times, and context tags. Just
//! enough to write a TBSCertificate whose subject, public key and extensions are copied
//! or chosen exactly (rcgen keys a distinguished name by attribute type, so it cannot
//! write a subject with three organizations).

use time::OffsetDateTime;

/// One TLV with a definite length.
pub(crate) fn tlv(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(content.len() + 6);
    out.push(tag);
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|b| **b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
    out.extend_from_slice(content);
    out
}

pub(crate) fn sequence(parts: &[&[u8]]) -> Vec<u8> {
    tlv(0x30, &parts.concat())
}

/// A non-negative INTEGER from big-endian magnitude bytes (leading zeros dropped, one
/// zero byte put back when the high bit is set).
pub(crate) fn unsigned_integer(magnitude: &[u8]) -> Vec<u8> {
    let start = magnitude.iter().take_while(|b| **b == 0).count();
    let trimmed = magnitude.get(start..).unwrap_or_default();
    let mut content = Vec::with_capacity(trimmed.len() + 1);
    if trimmed.first().is_none_or(|b| b & 0x80 != 0) {
        content.push(0);
    }
    content.extend_from_slice(trimmed);
    tlv(0x02, &content)
}

pub(crate) fn small_integer(v: u8) -> Vec<u8> {
    unsigned_integer(&[v])
}

/// An OBJECT IDENTIFIER from its arcs (at least two, as every OID written here has).
pub(crate) fn oid(arcs: &[u64]) -> Vec<u8> {
    let mut content = Vec::new();
    if let [first, second, rest @ ..] = arcs {
        base128(first * 40 + second, &mut content);
        for arc in rest {
            base128(*arc, &mut content);
        }
    }
    tlv(0x06, &content)
}

fn base128(mut v: u64, out: &mut Vec<u8>) {
    let mut digits = vec![(v & 0x7f) as u8];
    v >>= 7;
    while v > 0 {
        digits.push(0x80 | (v & 0x7f) as u8);
        v >>= 7;
    }
    out.extend(digits.iter().rev());
}

/// A BIT STRING of whole bytes (a signature, a key).
pub(crate) fn bit_string(bytes: &[u8]) -> Vec<u8> {
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(0);
    content.extend_from_slice(bytes);
    tlv(0x03, &content)
}

/// A named BIT STRING (key usage) in its shortest form: trailing zero bits are not written.
pub(crate) fn named_bits(bytes: &[u8]) -> Vec<u8> {
    let used = bytes.iter().rposition(|b| *b != 0).map_or(0, |i| i + 1);
    let bytes = bytes.get(..used).unwrap_or_default();
    let unused = bytes.last().map_or(0, |b| b.trailing_zeros() as u8);
    let mut content = Vec::with_capacity(bytes.len() + 1);
    content.push(unused);
    content.extend_from_slice(bytes);
    tlv(0x03, &content)
}

pub(crate) fn octet_string(bytes: &[u8]) -> Vec<u8> {
    tlv(0x04, bytes)
}

pub(crate) fn boolean(v: bool) -> Vec<u8> {
    tlv(0x01, &[if v { 0xff } else { 0 }])
}

pub(crate) fn null() -> Vec<u8> {
    vec![0x05, 0x00]
}

/// RFC 5280's Time: UTCTime for 1950 through 2049, GeneralizedTime otherwise.
pub(crate) fn time(t: OffsetDateTime) -> Vec<u8> {
    let t = t.to_offset(time::UtcOffset::UTC);
    let (y, mo, d, h, mi, s) = (t.year(), u8::from(t.month()), t.day(), t.hour(), t.minute(), t.second());
    if (1950..2050).contains(&y) {
        let text = format!("{:02}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z", y % 100);
        tlv(0x17, text.as_bytes())
    } else {
        let text = format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}Z");
        tlv(0x18, text.as_bytes())
    }
}

/// `[n] EXPLICIT` (constructed context tag around a complete encoding).
pub(crate) fn explicit(n: u8, inner: &[u8]) -> Vec<u8> {
    tlv(0xa0 | n, inner)
}

/// `[n] IMPLICIT` of a primitive value (the context tag replaces the value's own).
pub(crate) fn implicit(n: u8, content: &[u8]) -> Vec<u8> {
    tlv(0x80 | n, content)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_match_x690() {
        assert_eq!(
            oid(&[1, 2, 840, 10045, 4, 3, 2]),
            [0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03, 0x02]
        );
        assert_eq!(unsigned_integer(&[0, 0, 0x80]), [0x02, 0x02, 0x00, 0x80]);
        assert_eq!(unsigned_integer(&[0, 0x7f]), [0x02, 0x01, 0x7f]);
        assert_eq!(unsigned_integer(&[]), [0x02, 0x01, 0x00]);
        // digitalSignature | keyEncipherment: bits 0 and 2 -> 0xa0, 5 unused bits.
        assert_eq!(named_bits(&[0xa0, 0]), [0x03, 0x02, 0x05, 0xa0]);
        let long = tlv(0x04, &[0u8; 300]);
        assert_eq!(&long[..4], &[0x04, 0x82, 0x01, 0x2c]);
        let t = OffsetDateTime::from_unix_timestamp(0).unwrap();
        assert_eq!(time(t), tlv(0x17, b"700101000000Z"));
        let t = OffsetDateTime::from_unix_timestamp(2_556_144_000).unwrap(); // 2051-01-01
        assert_eq!(time(t), tlv(0x18, b"20510101000000Z"));
    }
}
