//! vnext 0.1's `sys_schemas.vnext_try_numeric`, which the expression indexes of domains not yet
//! upgraded still call on every write: no value may make it fail. It raised "value overflows
//! numeric format" on a 17,000-digit fraction (numeric keeps at most 16383 digits after the
//! point, 131072 before it), so such a number failed the runtime's insert; the platform's 0002
//! replaces it with one that gives NULL.

use crate::apply::{ok, vnext};
use crate::database::{self, TestDb};

#[test]
fn no_number_makes_the_legacy_numeric_cast_fail_a_write() {
    if !database::available() {
        return;
    }
    let ws = crate::support::example_copy("loans");
    let db = TestDb::create("legacy_numeric");
    ok(vnext(&["apply"], ws.path(), &db.url));
    let cases = [
        ("'12.5'", "12.5"),
        ("' -3e2 '", "-300"),
        ("'abc'", "null"),
        ("'0.' || repeat('1', 17000)", "null"),
        ("repeat('9', 140000)", "null"),
        ("repeat('9', 999) || 'e9999'", "null"),
    ];
    for (value, expected) in cases {
        let rows = db.query(&format!(
            "SELECT COALESCE(sys_schemas.vnext_try_numeric({value})::text, 'null')"
        ));
        assert_eq!(rows, vec![expected.to_owned()], "{value}");
    }
}
