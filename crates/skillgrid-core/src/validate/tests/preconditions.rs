//! The `If-Match` header: the ETags of this API, and what is said of anything else.

use super::super::precondition_header;
use super::{w, Want, NONE};
use crate::model::Precondition;

const ETAG: &str = r#"a quoted version such as "7" (the ETag of GET …/skills), or *"#;

#[test]
fn etags_of_this_api() {
    let rows: &[(Option<&str>, Option<Precondition>)] = &[
        (None, None),
        (Some(r#""7""#), Some(Precondition::Version(7))),
        (Some(r#" "7" "#), Some(Precondition::Version(7))),
        (Some(r#""0""#), Some(Precondition::Version(0))),
        (Some("*"), Some(Precondition::Any)),
        (Some(r#"W/"7""#), Some(Precondition::Weak)),
    ];
    for (header, want) in rows {
        assert_eq!(precondition_header(*header), Ok(*want), "{header:?}");
    }
}

#[test]
fn anything_else_is_refused_at_the_header() {
    let rows: &[(&str, Want)] = &[
        (
            "7",
            w(
                "header:If-Match",
                "invalid_format",
                "If-Match `7` is not an ETag of this API",
                ETAG,
                r#""7""#,
                r#"quote it: If-Match: "7""#,
            ),
        ),
        (
            r#""-1""#,
            w(
                "header:If-Match",
                "invalid_format",
                r#"If-Match `"-1"` is not an ETag"#,
                ETAG,
                r#""\"-1\"""#,
                NONE,
            ),
        ),
        (
            "abc",
            w(
                "header:If-Match",
                "invalid_format",
                "If-Match `abc` is not an ETag",
                ETAG,
                r#""abc""#,
                NONE,
            ),
        ),
        (
            r#""x""#,
            w(
                "header:If-Match",
                "invalid_format",
                r#"If-Match `"x"` is not an ETag"#,
                ETAG,
                r#""\"x\"""#,
                NONE,
            ),
        ),
    ];
    for (header, want) in rows {
        let got = precondition_header(Some(header)).map_err(|e| vec![e]);
        super::check(header, got, std::slice::from_ref(want));
    }
}
