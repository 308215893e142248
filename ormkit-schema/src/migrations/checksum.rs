//! Text normalisation and checksums of migration scripts.
//!
//! Checksums are computed over the *normalised* text, so that a checkout with CRLF line
//! endings or an editor that adds a byte-order mark does not make an applied migration look
//! modified.

use sha2::{Digest, Sha256};

/// The UTF-8 byte-order mark some editors put at the start of files.
const BOM: char = '\u{feff}';

/// Normalises a script's text: strips a leading UTF-8 byte-order mark and turns CRLF line
/// endings into LF.
///
/// Line numbers are unchanged, so positions in the normalised text map to the same lines in
/// the file.
pub fn normalise(text: &str) -> String {
    let text = text.strip_prefix(BOM).unwrap_or(text);
    text.replace("\r\n", "\n")
}

/// The checksum of a script: the lowercase hexadecimal SHA-256 of [`normalise`]`(text)`.
pub fn checksum(text: &str) -> String {
    hex::encode(Sha256::digest(normalise(text).as_bytes()))
}

/// Digest of a whole set of migrations: the lowercase hexadecimal SHA-256 of one
/// `"<version> <checksum>\n"` line per `(version, checksum)` pair, in the given order.
///
/// Callers should pass migrations in application order (as returned by
/// `discover`) so that the digest identifies the migration history.
pub fn digest<'a>(items: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut hasher = Sha256::new();
    for (version, checksum) in items {
        hasher.update(version.as_bytes());
        hasher.update(b" ");
        hasher.update(checksum.as_bytes());
        hasher.update(b"\n");
    }
    hex::encode(hasher.finalize())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SCRIPT: &str = "create table t (id int);\ninsert into t values (1);\n";

    #[test]
    fn normalise_strips_bom_and_crlf() {
        assert_eq!(normalise("\u{feff}a\r\nb\r\n"), "a\nb\n");
        assert_eq!(normalise("a\nb"), "a\nb");
        // Only a leading BOM is stripped, and a lone CR is kept.
        assert_eq!(normalise("a\u{feff}\rb"), "a\u{feff}\rb");
    }

    #[test]
    fn checksum_ignores_line_endings_and_bom() {
        let lf = checksum(SCRIPT);
        assert_eq!(lf.len(), 64);
        assert!(lf
            .chars()
            .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()));
        let crlf = SCRIPT.replace('\n', "\r\n");
        assert_eq!(checksum(&crlf), lf);
        assert_eq!(checksum(&format!("\u{feff}{SCRIPT}")), lf);
        assert_eq!(checksum(&format!("\u{feff}{crlf}")), lf);
    }

    #[test]
    fn checksum_detects_content_changes() {
        let changed = SCRIPT.replace("values (1)", "values (2)");
        assert_ne!(checksum(&changed), checksum(SCRIPT));
        assert_ne!(checksum(&format!("{SCRIPT}\n")), checksum(SCRIPT));
    }

    #[test]
    fn checksum_is_sha256_of_normalised_text() {
        // sha256("") is well known.
        assert_eq!(
            checksum("\u{feff}"),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn digest_depends_on_order_and_content() {
        let a = digest([("1", "aa"), ("2", "bb")]);
        let b = digest([("2", "bb"), ("1", "aa")]);
        let c = digest([("1", "aa"), ("2", "bc")]);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_eq!(a, hex::encode(Sha256::digest(b"1 aa\n2 bb\n")));
        assert_eq!(digest([]), checksum(""));
    }
}
